// Preload (node -r ./loopback.cjs): arlocal calls app.listen(port) with no host, so it would bind
// every interface and has no option to change that. This wraps net.Server.prototype.listen so that a
// listen on a bare port gets a host (ARLOCAL_HOST, default 127.0.0.1) inserted.
'use strict';
const net = require('net');
const host = process.env.ARLOCAL_HOST || '127.0.0.1';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const p = args[0];
  if ((typeof p === 'number' || (typeof p === 'string' && /^\d+$/.test(p))) && typeof args[1] !== 'string') {
    args.splice(1, 0, host);
  }
  return listen.apply(this, args);
};
