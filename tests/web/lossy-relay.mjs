// A lossy path between vmcast and a page, for tests of vmcast's bitrate adaptation: this
// kernel has no netem. The page's signalling WebSocket is routed through the driver, which
// rewrites the ICE candidates both ways so that each side's only candidate for the other is
// one of two UDP sockets here (Chromium may signal none: vmcast then learns the page's address
// from its checks, as through a NAT); packets are forwarded between the two sockets, and RTP
// from vmcast to the page is dropped at a chosen rate. STUN, DTLS and RTCP always pass, so the
// connection comes up and the page's receiver reports tell vmcast what was lost.
import dgram from 'node:dgram';

// RFC 7983: the first byte 128-191 is RTP or RTCP; RTCP's packet types are 192-223 (RFC 5761).
function isRtpMedia(packet) {
  if (packet.length < 2 || packet[0] < 128 || packet[0] > 191) return false;
  const type = packet[1] & 0x7f;
  return type < 64 || type > 95;
}

function bindLoopback(socket) {
  return new Promise((done, fail) => {
    socket.once('error', fail);
    socket.bind(0, '127.0.0.1', () => done(socket.address().port));
  });
}

// "candidate:F 1 udp PRIORITY 127.0.0.1 PORT typ host ..." -> its address and port, for UDP
// over IPv4 loopback only (the tests' network namespace has nothing else).
function udpEndpoint(candidate) {
  const fields = candidate.replace(/^candidate:/, '').split(' ');
  if (fields.length < 8 || fields[2].toLowerCase() !== 'udp' || fields[4] !== '127.0.0.1')
    return null;
  return { fields, address: fields[4], port: Number(fields[5]) };
}

export class LossyRelay {
  constructor() {
    this.loss = 0;
    this.counts = { forwarded: 0, dropped: 0 };
    this.vmcast = null; // vmcast's real endpoint, from its first UDP candidate
    this.page = null; // the page's, from its candidates or else its packets
  }

  async start() {
    this.facingVmcast = dgram.createSocket('udp4'); // vmcast takes this for the page
    this.facingPage = dgram.createSocket('udp4'); // the page takes this for vmcast
    this.facingVmcastPort = await bindLoopback(this.facingVmcast);
    this.facingPagePort = await bindLoopback(this.facingPage);
    this.facingVmcast.on('message', (packet) => {
      if (!this.page) return;
      if (isRtpMedia(packet) && Math.random() < this.loss) {
        this.counts.dropped++;
        return;
      }
      this.counts.forwarded++;
      this.facingPage.send(packet, this.page.port, this.page.address);
    });
    this.facingPage.on('message', (packet, from) => {
      // Like a NAT: vmcast's answers go to where the page's packets came from.
      this.page = { address: from.address, port: from.port };
      if (this.vmcast) this.facingVmcast.send(packet, this.vmcast.port, this.vmcast.address);
    });
  }

  close() {
    this.facingVmcast.close();
    this.facingPage.close();
  }

  // A signalling message on its way; null drops it (a candidate the relay does not carry).
  fromVmcast(text) { return this.rewrite(text, 'vmcast', this.facingPagePort); }
  fromPage(text) { return this.rewrite(text, 'page', this.facingVmcastPort); }

  rewrite(text, side, relayPort) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return text;
    }
    if (message.type === 'offer' || message.type === 'answer') {
      // Chromium puts the candidates it has into its answer, besides trickling them.
      message.sdp = message.sdp.split('\r\n').flatMap((line) => {
        if (!line.startsWith('a=candidate:')) return [line];
        const carried = this.carry(line.slice(2), side, relayPort);
        return carried ? ['a=' + carried] : [];
      }).join('\r\n');
      return JSON.stringify(message);
    }
    if (message.type !== 'ice' || !message.candidate) return text;
    message.candidate = this.carry(message.candidate, side, relayPort);
    return message.candidate ? JSON.stringify(message) : null;
  }

  // The candidate pointing at the relay instead, for the side's first UDP candidate; null for
  // any other, which would bypass the relay.
  carry(candidate, side, relayPort) {
    const endpoint = udpEndpoint(candidate);
    if (!endpoint) return null;
    const known = this[side];
    if (known && (known.address !== endpoint.address || known.port !== endpoint.port))
      return null;
    this[side] = { address: endpoint.address, port: endpoint.port };
    endpoint.fields[5] = String(relayPort);
    return 'candidate:' + endpoint.fields.join(' ');
  }
}

// Routes page's signalling WebSocket (/ws) through relay.
export async function routeThroughRelay(page, relay) {
  await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((text) => {
      const out = relay.fromPage(text);
      if (out !== null) server.send(out);
    });
    server.onMessage((text) => {
      const out = relay.fromVmcast(text);
      if (out !== null) ws.send(out);
    });
  });
}
