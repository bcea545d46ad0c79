"""A dimension value of push is text: `mypy --strict` must reject this file (the call would return False)."""
import vwo_push

client = vwo_push.Client(123456, "key")
client.push("seats", 3, "user-42")
