// cairn explorer: live updates of the overview. On every new head (or
// reorganisation) the node announces on its WebSocket JSON-RPC, the
// overview's panels are fetched again as an HTML fragment from this node
// and swapped in. No framework, no build step.
"use strict";
(function () {
  var live = document.getElementById("live");
  if (!live) {
    return; // not the overview
  }
  var status = document.getElementById("live-status");
  var banner = document.getElementById("reorg-banner");
  var fragmentURL = live.dataset.fragment;
  var prefix = fragmentURL.replace(/fragment\/overview$/, "");
  var wsPath = live.dataset.ws || "/ws";

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  // refresh fetches the fragment; calls while one is in flight make one
  // more fetch after it, so a burst of blocks costs two fetches, and the
  // last one always shows the newest state.
  var inflight = false;
  var again = false;
  function refresh() {
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    fetch(fragmentURL, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        live.innerHTML = html; // this node's own escaped template output
      })
      .catch(function (err) {
        setStatus("down", "live updates: could not fetch the overview (" + err.message + ")");
      })
      .finally(function () {
        inflight = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function abbrev(hash) {
    return typeof hash === "string" && hash.length > 16 ? hash.slice(0, 10) + "…" + hash.slice(-6) : String(hash);
  }

  function blockLink(hash) {
    var a = document.createElement("a");
    a.className = "mono";
    a.href = prefix + "block/" + encodeURIComponent(hash);
    a.title = hash;
    a.textContent = abbrev(hash);
    return a;
  }

  // showReorg names the reorganisation in the banner: depth, fork point,
  // old and new tip. Every value is set as text, never as HTML.
  function showReorg(r) {
    var removed = Array.isArray(r.removed) ? r.removed.length : 0;
    var added = Array.isArray(r.added) ? r.added.length : 0;
    banner.textContent = "";
    var b = document.createElement("b");
    b.textContent = "Reorganisation: depth " + removed;
    banner.appendChild(b);
    banner.appendChild(document.createTextNode(" (" + removed + " block" + (removed === 1 ? "" : "s") +
      " replaced by " + added + ", fork at height " + r.forkHeight + ") — old tip "));
    banner.appendChild(blockLink(r.oldTip));
    banner.appendChild(document.createTextNode(" → new tip "));
    banner.appendChild(blockLink(r.newTip));
    banner.appendChild(document.createTextNode(" at " + new Date().toISOString().slice(11, 19) + " UTC"));
    banner.dataset.depth = String(removed);
    banner.dataset.oldTip = r.oldTip;
    banner.dataset.newTip = r.newTip;
    banner.hidden = false;
  }

  var backoff = 500;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + location.host + wsPath);
    } catch (err) {
      setStatus("down", "live updates unavailable: " + err.message);
      return;
    }
    var subscribed = false;
    ws.onopen = function () {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "chain_subscribe", params: ["newHeads"] }));
    };
    ws.onmessage = function (ev) {
      var msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (err) {
        return;
      }
      if (msg.id === 1) {
        if (msg.error) {
          setStatus("down", "live updates refused: " + (msg.error.message || "error"));
          return;
        }
        subscribed = true;
        backoff = 500;
        setStatus("live", "live: new blocks appear as the node takes them");
        refresh(); // whatever came while connecting
        return;
      }
      if (msg.method !== "chain_subscription" || !msg.params || !msg.params.result) {
        return;
      }
      var res = msg.params.result;
      if (res.reorg) {
        showReorg(res.reorg);
      }
      refresh();
    };
    ws.onclose = function () {
      setStatus("down", (subscribed ? "live updates: connection lost" : "live updates: cannot connect") +
        ", retrying in " + Math.round(backoff / 1000 * 10) / 10 + " s");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }
  connect();
})();
