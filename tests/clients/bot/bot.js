// A matrix-bot-sdk bot (encryption off) against the Host over loopback: it auto-joins the rooms it is invited to
// (seen through /sync) and answers "!echo …" messages. Run by tests/Matrix.Rooms.Host.Tests/Clients/RealClientTests.cs;
// by hand: HS=http://127.0.0.1:8008 node tests/clients/bot/bot.js
// Prints one line per step ("ok - …" / "not ok - …") and exits 1 at the first failure.
const { AutojoinRoomsMixin, LogLevel, LogService, MatrixAuth, MatrixClient, MemoryStorageProvider } = require("matrix-bot-sdk");

LogService.setLevel(LogLevel.ERROR);

const HS = process.env.HS ?? "http://127.0.0.1:8008";
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS ?? 30000);
const run = Math.random().toString(36).slice(2, 8);
const started = [];

async function step(name, body) {
  try {
    const value = await body();
    console.log(`ok - ${name}`);
    return value;
  } catch (error) {
    console.log(`not ok - ${name}: ${error?.stack ?? error}`);
    if (error?.body) console.log(JSON.stringify(error.body));
    for (const client of started) client.stop();
    process.exit(1);
  }
}

function eventually(client, eventName, predicate, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}`)), STEP_TIMEOUT_MS);
    client.on(eventName, (...args) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function account(localpart) {
  const client = await new MatrixAuth(HS).passwordRegister(localpart, `pw-${localpart}-secret`);
  return new MatrixClient(HS, client.accessToken, new MemoryStorageProvider());
}

(async () => {
  const bot = await step("the bot registers", () => account(`echobot${run}`));
  const alice = await step("alice registers", () => account(`alice${run}`));
  const botId = await bot.getUserId();

  AutojoinRoomsMixin.setupOnClient(bot);
  bot.on("room.message", async (roomId, event) => {
    const body = event?.content?.body;
    if (event.sender === botId || typeof body !== "string" || !body.startsWith("!echo ")) return;
    await bot.sendNotice(roomId, `echo: ${body.slice("!echo ".length)}`);
  });
  await step("the bot starts its sync loop", async () => {
    await bot.start();
    started.push(bot);
  });
  await step("alice starts her sync loop", async () => {
    await alice.start();
    started.push(alice);
  });

  const roomId = await step("alice creates a room", () => alice.createRoom({ name: "Bot test", preset: "private_chat" }));
  const joined = eventually(alice, "room.event", (room, event) =>
    room === roomId && event.type === "m.room.member" && event.state_key === botId && event.content?.membership === "join", "the bot's join");
  await step("alice invites the bot; it joins on the invite it sees through sync", async () => {
    await alice.inviteUser(botId, roomId);
    await joined;
  });
  const echoed = eventually(alice, "room.message", (room, event) => room === roomId && event.sender === botId && event.content?.body === "echo: hello bot",
    "the bot's answer");
  await step("alice says \"!echo hello bot\"; the bot answers through sync", async () => {
    await alice.sendText(roomId, "!echo hello bot");
    await echoed;
  });
  await step("the joined rooms agree", async () => {
    const rooms = await bot.getJoinedRooms();
    if (!rooms.includes(roomId)) throw new Error(`the bot's joined rooms ${JSON.stringify(rooms)} lack ${roomId}`);
  });

  for (const client of started) client.stop();
  console.log("matrix-bot-sdk: all flows passed");
  process.exit(0);
})();
