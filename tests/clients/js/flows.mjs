// matrix-js-sdk as a full client (startClient: the /sync loop), driving the Host over loopback through the mission's
// flows. Run by tests/Matrix.Rooms.Host.Tests/Clients/RealClientTests.cs; by hand:
//   HS=http://127.0.0.1:8008 MAILDROP=.data/maildrop node tests/clients/js/flows.mjs
// Prints one line per step ("ok - …" / "not ok - …") and exits 1 at the first failure.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ClientEvent, createClient, RoomEvent } from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("error");

const HS = process.env.HS ?? "http://127.0.0.1:8008";
const MAILDROP = process.env.MAILDROP ?? ".data/maildrop";
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS ?? 30000);
const run = Math.random().toString(36).slice(2, 8);
const clients = [];

function step(name, body) {
  return body().then(
    (value) => {
      console.log(`ok - ${name}`);
      return value;
    },
    (error) => {
      console.log(`not ok - ${name}: ${error?.stack ?? error}`);
      if (error?.data) console.log(JSON.stringify(error.data));
      for (const client of clients) client.stopClient();
      process.exit(1);
    },
  );
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Resolves when `emitter` emits `event` with arguments that satisfy `predicate` (checked on the current state first). */
function waitFor(emitter, event, predicate, what, alreadyTrue = () => false) {
  return new Promise((resolve, reject) => {
    if (alreadyTrue()) return resolve();
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}`));
    }, STEP_TIMEOUT_MS);
    const listener = (...args) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

async function startSyncing(client, opts = {}) {
  clients.push(client);
  const prepared = waitFor(client, ClientEvent.Sync, (state) => state === "PREPARED" || state === "SYNCING", `${client.getUserId()}'s first sync`);
  await client.startClient({ initialSyncLimit: 20, ...opts });
  await prepared;
  return client;
}

async function register(localpart) {
  const anonymous = createClient({ baseUrl: HS });
  const answer = await anonymous.registerRequest({ username: localpart, password: `pw-${localpart}-secret`, auth: { type: "m.login.dummy" } });
  return answer;
}

async function login(localpart, extra = {}) {
  const anonymous = createClient({ baseUrl: HS });
  const answer = await anonymous.loginRequest({
    type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password: `pw-${localpart}-secret`,
  });
  return createClient({ baseUrl: HS, userId: answer.user_id, accessToken: answer.access_token, deviceId: answer.device_id, ...extra });
}

const membershipIs = (client, roomId, membership) => () => client.getRoom(roomId)?.getMyMembership() === membership;

/** Polls `predicate` until it holds (for what the client stores a moment after it emits). */
async function eventually(predicate, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForMembership(client, roomId, membership) {
  await waitFor(client, RoomEvent.MyMembership, (room, m) => room.roomId === roomId && m === membership,
    `${client.getUserId()} to see membership ${membership} in ${roomId} through /sync`, membershipIs(client, roomId, membership));
  // The client emits the membership while it processes the sync answer and stores the room right after.
  await eventually(membershipIs(client, roomId, membership), `${roomId} in ${client.getUserId()}'s store`);
}

const bodies = (room) => room.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message").map((e) => e.getContent().body);

async function waitForMessage(client, roomId, body) {
  await waitFor(client, RoomEvent.Timeline, (event, room) => room?.roomId === roomId && event.getContent()?.body === body,
    `${client.getUserId()} to receive "${body}" through /sync`, () => bodies(client.getRoom(roomId) ?? { getLiveTimeline: () => ({ getEvents: () => [] }) }).includes(body));
}

/** The validation mail for session `sid` in the mail drop, and the link in it a person would follow. */
async function validationLink(sid) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const name of await readdir(MAILDROP).catch(() => [])) {
      const text = await readFile(path.join(MAILDROP, name), "utf8");
      if (!text.includes(`Session: ${sid}`)) continue;
      const link = text.match(/https?:\/\/\S*submitToken\S*/);
      assert(link, `the validation mail ${name} has no submitToken link`);
      return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no validation mail for session ${sid} in ${MAILDROP}`);
}

async function identityToken(client) {
  const registered = await client.registerWithIdentityServer(await client.getOpenIdToken());
  return registered.token ?? registered.access_token;
}

const idServer = new URL(HS).host;

// --- accounts and the sync loop ---------------------------------------------------------------------------------------
const aliceAccount = await step("alice registers", () => register(`alice${run}`));
await step("bob registers", () => register(`bob${run}`));
const alice = await step("alice logs in and syncs", async () => startSyncing(await login(`alice${run}`)));
const bob = await step("bob logs in and syncs", async () => startSyncing(await login(`bob${run}`)));
assert(alice.getUserId() === aliceAccount.user_id, "login and register agree on the user ID");

// --- invite by user ID, seen through sync -----------------------------------------------------------------------------
const { room_id: tea } = await step("alice creates a room", () => alice.createRoom({ name: "Tea", preset: "private_chat" }));
await step("alice sees her room through sync", () => waitForMembership(alice, tea, "join"));
await step("alice invites bob", () => alice.invite(tea, bob.getUserId()));
await step("bob sees the invite through sync, with the room's name", async () => {
  await waitForMembership(bob, tea, "invite");
  assert(bob.getRoom(tea).name === "Tea", `the invited room is named from invite_state, got "${bob.getRoom(tea).name}"`);
});
await step("bob joins", async () => {
  await bob.joinRoom(tea);
  await waitForMembership(bob, tea, "join");
});
await step("alice sees bob's join through sync", () =>
  waitFor(alice, RoomEvent.Timeline, (e) => e.getType() === "m.room.member" && e.getStateKey() === bob.getUserId() && e.getContent().membership === "join",
    "bob's join in alice's timeline", () => alice.getRoom(tea)?.getMember(bob.getUserId())?.membership === "join"));

// --- messages through sync, and scrollback from the sync's prev_batch -------------------------------------------------
await step("bob receives alice's message through sync", async () => {
  await alice.sendTextMessage(tea, "hello bob");
  await waitForMessage(bob, tea, "hello bob");
});
await step("alice sends 30 more messages; bob receives the last", async () => {
  for (let i = 0; i < 30; i++) await alice.sendTextMessage(tea, `m${i}`);
  await waitForMessage(bob, tea, "m29");
});
await step("a second device of bob starts with 5 events and scrolls back to the first message", async () => {
  const device = await startSyncing(await login(`bob${run}`), { initialSyncLimit: 5 });
  const room = device.getRoom(tea);
  assert(room, "the joined room is in the initial sync");
  assert(bodies(room).length <= 5, `initial sync is limited to 5 events, got ${bodies(room).length}`);
  for (let page = 0; page < 20 && !bodies(room).includes("hello bob"); page++) await device.scrollback(room, 10);
  const seen = bodies(room);
  assert(seen.includes("hello bob"), `scrollback reached "hello bob"; saw ${seen.join(",")}`);
  const expected = ["hello bob", ...Array.from({ length: 30 }, (_, i) => `m${i}`)];
  assert(JSON.stringify(seen.slice(seen.indexOf("hello bob"))) === JSON.stringify(expected), `messages in order: ${seen.join(",")}`);
  device.stopClient();
});

// --- invite by e-mail through the identity server ---------------------------------------------------------------------
const address = `carol-${run}@example.org`;
await step("carol registers", () => register(`carol${run}`));
const carol = await step("carol logs in (with the identity server) and syncs", async () =>
  startSyncing(await login(`carol${run}`, { idBaseUrl: HS })));
let aliceIs;
const alice3pid = createClient({
  baseUrl: HS, idBaseUrl: HS, userId: alice.getUserId(), accessToken: alice.getAccessToken(), deviceId: alice.getDeviceId(),
  identityServer: { getAccessToken: async () => aliceIs },
});
aliceIs = await step("alice gets an identity-server token by OpenID", () => identityToken(alice3pid));
await step(`alice invites ${address} to the room`, () => alice3pid.inviteByThreePid(tea, "email", address));
await step("the room shows the pending third-party invite", () =>
  waitFor(alice, RoomEvent.Timeline, (e) => e.getType() === "m.room.third_party_invite", "the m.room.third_party_invite event",
    () => alice.getRoom(tea)?.currentState.getStateEvents("m.room.third_party_invite").length > 0));
const carolIs = await step("carol gets an identity-server token by OpenID", () => identityToken(carol));
const secret = `secret${run}`;
const { sid } = await step("carol asks the identity server to validate her address", () =>
  carol.requestEmailToken(address, secret, 1, undefined, carolIs));
await step("carol follows the link in the validation mail", async () => {
  const link = await validationLink(sid);
  const answer = await fetch(link, { redirect: "manual" });
  assert(answer.status < 400, `following ${new URL(link).pathname} answered ${answer.status}`);
});
await step("carol binds the address to her account", () =>
  carol.bindThreePid({ sid, client_secret: secret, id_server: idServer, id_access_token: carolIs }));
await step("carol sees the exchanged invite through sync", () => waitForMembership(carol, tea, "invite"));
await step("carol joins, and alice sees her join", async () => {
  await carol.joinRoom(tea);
  await waitForMembership(carol, tea, "join");
  await waitFor(alice, RoomEvent.Timeline, (e) => e.getType() === "m.room.member" && e.getStateKey() === carol.getUserId() && e.getContent().membership === "join",
    "carol's join in alice's timeline", () => alice.getRoom(tea)?.getMember(carol.getUserId())?.membership === "join");
});

// --- guests -----------------------------------------------------------------------------------------------------------
const { room_id: lobby } = await step("alice creates a world-readable room without guest access", () => alice.createRoom({
  name: "Lobby", preset: "public_chat",
  initial_state: [
    { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } },
    { type: "m.room.guest_access", state_key: "", content: { guest_access: "forbidden" } },
  ],
}));
await step("alice says hello in the lobby", () => alice.sendTextMessage(lobby, "welcome, readers"));
await step("alice publishes the lobby; the public room directory lists it", async () => {
  await alice.setRoomDirectoryVisibility(lobby, "public");
  const found = await alice.publicRooms({ limit: 10, filter: { generic_search_term: "Lobby" } });
  assert(found.chunk.some((r) => r.room_id === lobby && r.world_readable === true && r.num_joined_members === 1),
    `publicRooms lists the lobby, got ${JSON.stringify(found.chunk)}`);
});
const guestAccount = await step("a guest registers", () => createClient({ baseUrl: HS }).registerGuest());
const guest = createClient({ baseUrl: HS, userId: guestAccount.user_id, accessToken: guestAccount.access_token, deviceId: guestAccount.device_id });
guest.setGuest(true);
await step("the guest syncs", () => startSyncing(guest));
await step("the guest peeks into the world-readable room", async () => {
  const room = await guest.peekInRoom(lobby);
  assert(bodies(room).includes("welcome, readers"), `peeking shows the room's messages, got ${bodies(room).join(",")}`);
  guest.stopPeeking();
});
await step("the guest may not join while guest access is forbidden", async () => {
  const refused = await guest.joinRoom(lobby).then(() => null, (e) => e);
  assert(refused?.errcode === "M_GUEST_ACCESS_FORBIDDEN", `expected M_GUEST_ACCESS_FORBIDDEN, got ${refused?.errcode ?? "a join"}`);
});
await step("alice allows guests; the guest joins", async () => {
  await alice.setGuestAccess(lobby, { allowJoin: true });
  await guest.joinRoom(lobby);
  await waitForMembership(guest, lobby, "join");
});
await step("alice withdraws guest access; the guest sees itself removed through sync", async () => {
  await alice.setGuestAccess(lobby, { allowJoin: false });
  await waitForMembership(guest, lobby, "leave");
});

for (const client of clients) client.stopClient();
console.log("matrix-js-sdk: all flows passed");
process.exit(0);
