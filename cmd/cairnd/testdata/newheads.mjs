// A second WebSocket client for cairnd's /ws (Node's built-in WebSocket):
// subscribes to newHeads, takes N heads, checks each against
// chain_getHeader over HTTP and that their heights follow each other,
// unsubscribes, and prints the outcome as one JSON line.
const [rpc, want] = [process.argv[2], Number(process.argv[3] || 20)];
const ws = new WebSocket(rpc.replace(/^http/, 'ws') + '/ws');
const heads = [];
let sub = null;
const done = (out) => { console.log(JSON.stringify(out)); ws.close(); };
ws.onerror = (e) => done({ error: String(e.message || e) });
ws.onopen = () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_subscribe', params: ['newHeads'] }));
ws.onmessage = async (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id === 1) { sub = m.result; return; }
  if (m.id === 3) {
    const mismatches = [];
    for (const h of heads) {
      const r = await fetch(rpc, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'chain_getHeader', params: [h.height] }) });
      const j = await r.json();
      if (!j.result || j.result.hash !== h.hash) mismatches.push(h.height);
    }
    const gaps = heads.slice(1).filter((h, i) => h.height !== heads[i].height + 1).map((h) => h.height);
    done({ unsubscribed: m.result, heads: heads.length, first: heads[0].height, last: heads[heads.length - 1].height, mismatches, gaps });
    return;
  }
  if (m.method !== 'chain_subscription' || m.params.subscription !== sub || !m.params.result.hash) return;
  if (heads.length < want) {
    heads.push(m.params.result);
    if (heads.length === want) ws.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'chain_unsubscribe', params: [sub] }));
  }
};
