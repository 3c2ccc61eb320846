"""matrix-nio's sync loop (AsyncClient.sync_forever) driving the Host over loopback through the mission's flows.

Run by tests/Matrix.Rooms.Host.Tests/Clients/RealClientTests.cs; by hand (Debian's python3-matrix-nio):
    HS=http://127.0.0.1:8008 MAILDROP=.data/maildrop /usr/bin/python3 tests/clients/python/flows.py
Prints one line per step ("ok - ..." / "not ok - ...") and exits 1 at the first failure.

nio has no identity-server or guest API: the identity-server calls a person's browser or another app would make are
plain HTTP here (urllib); everything a nio user does with their homeserver goes through nio.
"""
import asyncio
import json
import os
import random
import re
import string
import sys
import traceback
import urllib.parse
import urllib.request

from nio import AsyncClient, RoomMessagesResponse, RoomMessageText, RoomPreset, SyncResponse

HS = os.environ.get("HS", "http://127.0.0.1:8008")
MAILDROP = os.environ.get("MAILDROP", ".data/maildrop")
STEP_TIMEOUT = float(os.environ.get("STEP_TIMEOUT_MS", "30000")) / 1000
RUN = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
clients = []
sync_tasks = []


class StepFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise StepFailed(message)


async def step(name, body):
    try:
        value = await body()
    except Exception:  # noqa: BLE001 - every failure ends the run with its trace
        print(f"not ok - {name}: {traceback.format_exc()}", flush=True)
        await stop()
        sys.exit(1)
    print(f"ok - {name}", flush=True)
    return value


async def stop():
    for task in sync_tasks:
        task.cancel()
    for client in clients:
        await client.close()


async def until(predicate, what):
    deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise StepFailed(f"timed out after {STEP_TIMEOUT} s waiting for {what}")
        await asyncio.sleep(0.05)


def http(method, url, body=None, token=None):
    """A plain HTTP call (what nio cannot make): returns (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=STEP_TIMEOUT) as answer:
            text = answer.read().decode()
            return answer.status, json.loads(text) if text.startswith("{") else {}
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text) if text.startswith("{") else {"text": text}


class User:
    """A nio client with its sync loop running in the background, and the messages it has received through sync."""

    def __init__(self, client):
        self.client = client
        self.messages = {}
        self.synced = False
        self.left = set()
        client.add_event_callback(self._on_message, RoomMessageText)
        client.add_response_callback(self._on_sync, SyncResponse)

    async def _on_sync(self, response):
        self.synced = True
        # nio keeps a left room in client.rooms; the sync answer's leave section is where the client learns of it.
        self.left.update(response.rooms.leave.keys())

    async def _on_message(self, room, event):
        self.messages.setdefault(room.room_id, []).append(event.body)

    @property
    def user_id(self):
        return self.client.user_id

    def start_syncing(self):
        clients.append(self.client)
        sync_tasks.append(asyncio.create_task(self.client.sync_forever(timeout=5000)))

    async def first_sync(self):
        await until(lambda: self.synced, f"{self.user_id}'s first successful sync")


async def registered_user(localpart):
    client = AsyncClient(HS, localpart)
    answer = await client.register(localpart, f"pw-{localpart}-secret", "nio")
    check(getattr(answer, "user_id", None), f"register answered {answer}")
    await client.close()
    client = AsyncClient(HS, localpart)
    answer = await client.login(f"pw-{localpart}-secret", device_name="nio")
    check(getattr(answer, "access_token", None), f"login answered {answer}")
    user = User(client)
    user.start_syncing()
    await user.first_sync()
    return user


def validation_link(sid):
    for name in os.listdir(MAILDROP):
        with open(os.path.join(MAILDROP, name), encoding="utf-8") as mail:
            text = mail.read()
        if f"Session: {sid}" in text:
            link = re.search(r"https?://\S*submitToken\S*", text)
            check(link, f"the validation mail {name} has no submitToken link")
            return link.group(0)
    return None


async def identity_token(user):
    status, openid = http("POST", f"{HS}/_matrix/client/v3/user/{urllib.parse.quote(user.user_id)}/openid/request_token", {},
                          user.client.access_token)
    check(status == 200, f"openid/request_token answered {status} {openid}")
    status, registered = http("POST", f"{HS}/_matrix/identity/v2/account/register", openid)
    check(status == 200, f"identity account/register answered {status} {registered}")
    return registered["token"]


async def main():
    alice = await step("alice registers, logs in and syncs", lambda: registered_user(f"alice{RUN}"))
    bob = await step("bob registers, logs in and syncs", lambda: registered_user(f"bob{RUN}"))

    async def create_room():
        answer = await alice.client.room_create(name="Tea", preset=RoomPreset.private_chat)
        check(getattr(answer, "room_id", None), f"createRoom answered {answer}")
        await until(lambda: answer.room_id in alice.client.rooms, "alice's room in her sync")
        return answer.room_id

    tea = await step("alice creates a room and sees it through sync", create_room)

    async def invite_bob():
        answer = await alice.client.room_invite(tea, bob.user_id)
        check(type(answer).__name__ == "RoomInviteResponse", f"invite answered {answer}")
        await until(lambda: tea in bob.client.invited_rooms, "the invite in bob's sync")
        check(bob.client.invited_rooms[tea].name == "Tea", f"invite_state names the room: {bob.client.invited_rooms[tea].name}")

    await step("alice invites bob; bob sees the invite through sync", invite_bob)

    async def bob_joins():
        answer = await bob.client.join(tea)
        check(getattr(answer, "room_id", None) == tea, f"join answered {answer}")
        await until(lambda: tea in bob.client.rooms and tea not in bob.client.invited_rooms, "the room among bob's joined rooms")
        await until(lambda: bob.user_id in alice.client.rooms[tea].users, "bob's join in alice's sync")

    await step("bob joins; both see it through sync", bob_joins)

    async def messages():
        for i in range(25):
            answer = await alice.client.room_send(tea, "m.room.message", {"msgtype": "m.text", "body": f"n{i}"})
            check(getattr(answer, "event_id", None), f"send answered {answer}")
        await until(lambda: "n24" in bob.messages.get(tea, []), "n24 in bob's sync")

    await step("alice sends 25 messages; bob receives them through sync", messages)

    async def scrollback():
        device = AsyncClient(HS, f"bob{RUN}")
        clients.append(device)
        await device.login(f"pw-bob{RUN}-secret", device_name="nio 2")
        first = await device.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 5}}})
        timeline = first.rooms.join[tea].timeline
        check(timeline.limited, "a 5-event timeline of a longer room is limited")
        seen = [e.body for e in timeline.events if isinstance(e, RoomMessageText)]
        token = timeline.prev_batch
        for _ in range(20):
            page = await device.room_messages(tea, token, limit=10)
            check(isinstance(page, RoomMessagesResponse), f"/messages answered {page}")
            seen = [e.body for e in page.chunk if isinstance(e, RoomMessageText)][::-1] + seen
            if not page.chunk or page.end is None or "n0" in seen:
                break
            token = page.end
        check(seen[seen.index("n0"):] == [f"n{i}" for i in range(25)] if "n0" in seen else False, f"scrollback in order: {seen}")

    await step("a second device syncs 5 events and scrolls back from prev_batch to the first", scrollback)

    carol = await step("carol registers, logs in and syncs", lambda: registered_user(f"carol{RUN}"))
    address = f"carol-{RUN}@example.org"
    id_server = urllib.parse.urlparse(HS).netloc

    async def invite_by_email():
        token = await identity_token(alice)
        status, answer = http("POST", f"{HS}/_matrix/client/v3/rooms/{urllib.parse.quote(tea)}/invite",
                              {"id_server": id_server, "id_access_token": token, "medium": "email", "address": address},
                              alice.client.access_token)
        check(status == 200, f"invite by e-mail answered {status} {answer}")

    await step(f"alice invites {address}", invite_by_email)

    async def validate_and_bind():
        token = await identity_token(carol)
        secret = f"secret{RUN}"
        status, session = http("POST", f"{HS}/_matrix/identity/v2/validate/email/requestToken",
                               {"client_secret": secret, "email": address, "send_attempt": 1}, token)
        check(status == 200, f"requestToken answered {status} {session}")
        link = None
        await until(lambda: (link := validation_link(session["sid"])) is not None, "the validation mail")
        link = validation_link(session["sid"])
        with urllib.request.urlopen(link, timeout=STEP_TIMEOUT) as answer:
            check(answer.status < 400, f"following the mail's link answered {answer.status}")
        status, bound = http("POST", f"{HS}/_matrix/client/v3/account/3pid/bind",
                             {"sid": session["sid"], "client_secret": secret, "id_server": id_server, "id_access_token": token},
                             carol.client.access_token)
        check(status == 200, f"bind answered {status} {bound}")

    await step("carol validates the address from the mail drop and binds it", validate_and_bind)
    await step("carol sees the exchanged invite through sync",
               lambda: until(lambda: tea in carol.client.invited_rooms, "the invite in carol's sync"))

    async def carol_joins():
        answer = await carol.client.join(tea)
        check(getattr(answer, "room_id", None) == tea, f"join answered {answer}")
        await until(lambda: carol.user_id in alice.client.rooms[tea].users, "carol's join in alice's sync")

    await step("carol joins; alice sees it through sync", carol_joins)

    async def lobby_room():
        answer = await alice.client.room_create(name="Lobby", preset=RoomPreset.public_chat, initial_state=[
            {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "world_readable"}},
            {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
        ])
        check(getattr(answer, "room_id", None), f"createRoom answered {answer}")
        return answer.room_id

    lobby = await step("alice creates a world-readable room without guest access", lobby_room)

    async def guest_account():
        status, account = http("POST", f"{HS}/_matrix/client/v3/register?kind=guest", {})
        check(status == 200, f"guest registration answered {status} {account}")
        client = AsyncClient(HS)
        client.restore_login(account["user_id"], account["device_id"], account["access_token"])
        user = User(client)
        user.start_syncing()
        await user.first_sync()
        return user

    guest = await step("a guest registers and syncs with nio", guest_account)

    async def guest_refused():
        answer = await guest.client.join(lobby)
        check(getattr(answer, "status_code", None) == "M_GUEST_ACCESS_FORBIDDEN", f"expected M_GUEST_ACCESS_FORBIDDEN, got {answer}")

    await step("the guest may not join while guest access is forbidden", guest_refused)

    async def guest_joins():
        await alice.client.room_put_state(lobby, "m.room.guest_access", {"guest_access": "can_join"})
        answer = await guest.client.join(lobby)
        check(getattr(answer, "room_id", None) == lobby, f"join answered {answer}")
        await until(lambda: lobby in guest.client.rooms, "the lobby among the guest's rooms")

    await step("alice allows guests; the guest joins", guest_joins)

    async def guest_removed():
        await alice.client.room_put_state(lobby, "m.room.guest_access", {"guest_access": "forbidden"})
        await until(lambda: lobby in guest.left, "the lobby in the leave section of the guest's sync")

    await step("alice withdraws guest access; the guest's sync moves the room to left", guest_removed)

    await stop()
    print("matrix-nio: all flows passed", flush=True)


asyncio.run(main())
