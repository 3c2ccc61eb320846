// Every export is a class that refuses to be used: matrix-bot-sdk only touches these when encryption is on.
const refuse = (name) => class {
  constructor() {
    throw new Error(`${name}: the crypto binding is a stand-in; run the bot with encryption off`);
  }
};
module.exports = new Proxy({}, { get: (_, name) => (name === "__esModule" ? false : refuse(String(name))) });
