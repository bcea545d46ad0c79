"""Calls that no form of push takes: `mypy --strict` must reject this file."""
import vwo_push

client = vwo_push.Client(123456, "key")
client.push(1, 2, 3)
