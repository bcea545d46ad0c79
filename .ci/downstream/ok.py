"""Uses vwo_push as the README does: `mypy --strict` must pass on it."""
import vwo_push

with vwo_push.Client(123456, "key", dry_run=True) as client:
    accepted: bool = client.push("browser", "chrome", "user-42")
    accepted = client.push({"browser": "chrome", "plan": "pro"}, "user-42")
    accepted = client.push(custom_dimension_map={"plan": "pro"}, user_id="user-42")
    accepted = client.push(tag_key="plan", tag_value="pro", user_id="user-42")
    requests = client.build_requests("a", "b", "c")
    print(requests[0].full_url, accepted, client.flush())
    result = client.push_many([("user-42", "plan", "pro")], batch_size=10)
    print(result.accepted + result.not_accepted)
fme = vwo_push.Client("123456", "key", fme=True, dry_run=True)
fme.set_attribute("seats", 3, {"id": "user-42"})
fme.set_attribute({"trial": True, "ratio": 0.5}, {"id": "user-42", "user_agent": "ua"})
launched: vwo_push.Client = vwo_push.launch('{"accountId": 1, "sdkKey": "k"}', is_development_mode=True)
status: int = vwo_push.main(["--help"])
counts: int = fme.stats()["pending"]
opted_out: bool = fme.set_opt_out()


async def handler() -> bool:
    async with vwo_push.AsyncClient(123456, "key", dry_run=True) as client:
        pushed: bool = await client.push("browser", "chrome", "user-42")
        return pushed and await client.push({"plan": "pro"}, "user-42")
