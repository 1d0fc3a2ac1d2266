/* gridwall wall: the push channel, the tick loop and #freshness (callbacks/push.py, callbacks/live.py).
 *
 * The push channel: an EventSource on /live/events carries each new data version of the view
 * (callbacks/push.py); a frame's tiles are applied with set_props to the outputs
 * the tick callback fills, its cases are drawn into #case-stream here (showStream, as the tick's
 * stream-feed is), and live-slow follows the slower panels' version (one per
 * 10-second epoch, shared by every wall). While the channel delivers, the page does not tick; when it falls silent (server
 * gone, no free slot, push off) the tick loop below takes over until it is back.
 *
 * The tick loop: when the server's answer to a tick is in (a new heartbeat), the next tick is
 * asked for by setting the live-poke store, at most every MIN_GAP_MS; the server holds a tick
 * open until something changes or a second has passed. A tick that fails (an error status, no
 * connection: the server cannot check the session while the database is down) is asked again
 * after RETRY_MS; one that gets no answer at all, after POKE_TIMEOUT_MS.
 *
 * #freshness is drawn from the live-version store and the heartbeat: it shows the link's state
 * ("实时", "历史数据 · 2026-11-20 10:00" under ?at=, "数据停滞 · 最新变更 …" when the platform has
 * changed no case for live.stall_ms), and "数据中断 自 hh:mm:ss" when the server
 * reports an outage or stops answering altogether; meanwhile #wall carries wall--stale (the panels
 * dim). The view's own last case time goes to #region-last-case, amber when quieter than usual.
 *
 * Everything done to Dash beyond its documented API (the fetch watch, set_props, drawing
 * component JSON, the undo history) goes through window.gridwallDash (assets/dash_adapter.js). */
(function () {
    "use strict";

    var dash = window.gridwallDash;  // Dash's internals (assets/dash_adapter.js)

    var LOST_MS = 3000;  // no heartbeat for this long: the server is unreachable
    var MIN_GAP_MS = 500;
    var POKE_TIMEOUT_MS = 3500;
    var RETRY_MS = 1000;

    var PUSH_SILENT_MS = 2500;  // no event for this long: the channel is not delivering
    var PUSH_RETRY_MS = 1000;
    var PUSH_RETRY_MAX_MS = 30000;
    var SLOW_JITTER_MS = 8000;
    var APPLY_GAP_MS = 100;  // a frame costs ~1 ms to apply since the stream left the renderer
    var PATH = "/live/events";

    // currentAt: when the page last showed the server's newest data (a frame applied, or a beat or
    // tick saying nothing moved since); the heartbeat reports its age (assets/heartbeat.js).
    var state = {beat: null, beatAt: null, skew: 0, live: null, tickBeat: null, tickLive: null,
                 currentAt: Date.now()};

    function showsCurrent(live) {
        if (live && !live.stale) { state.currentAt = Date.now(); }
    }
    // The page's first tick is the initial call of the server callback: count it as asked.
    var poke = {seq: 0, at: Date.now(), outstanding: true, timer: null};

    function sendPoke() {
        poke.timer = null;
        poke.seq += 1;
        poke.at = Date.now();
        poke.outstanding = true;
        dash.setProps("live-poke", {data: poke.seq});
    }

    function schedulePoke() {
        if (poke.timer !== null || pushDelivering()) { return; }
        poke.timer = setTimeout(sendPoke, Math.max(0, poke.at + MIN_GAP_MS - Date.now()));
    }

    function tickFailed() {
        poke.outstanding = false;
        poke.at = Date.now() + RETRY_MS - MIN_GAP_MS;
        schedulePoke();
    }

    // The renderer reports no failed request to the page: watch the tick's own requests.
    dash.watchCallback("live-poke", {
        answered: function (ok) {
            push.tickSince = true;  // the tick wrote tiles: the next frame sets them all
            if (!ok) { tickFailed(); }
        },
        failed: tickFailed
    });


    // --- the push channel ------------------------------------------------------------------------

    var push = {es: null, search: null, off: !window.EventSource, lastAt: 0, failures: 0, retry: null,
                tickSince: false, tiles: {}, view: null, slow: null,
                slowNext: null, slowTimer: null, live: null, pending: null, applyTimer: null, appliedAt: 0};

    function setProps(id, props) { dash.setProps(id, props); }

    function pushDelivering() {
        return !push.off && push.es !== null && Date.now() - push.lastAt < PUSH_SILENT_MS;
    }

    function resetPushView() {
        push.tiles = {}; push.view = null;
        push.slow = null; push.live = null; push.slowNext = null; push.pending = null;
        if (push.slowTimer !== null) { clearTimeout(push.slowTimer); push.slowTimer = null; }
    }

    function connectPush() {
        push.retry = null;
        if (push.off) { return; }
        if (push.es !== null) { push.es.close(); }
        push.search = window.location.search;
        resetPushView();
        var es = new EventSource(PATH + "?search=" + encodeURIComponent(push.search || ""));
        push.es = es;
        es.addEventListener("frame", function (e) { if (es === push.es) { queueFrame(JSON.parse(e.data)); } });
        es.addEventListener("beat", function (e) { if (es === push.es) { onBeat(JSON.parse(e.data)); } });
        es.addEventListener("end", function () { es.close(); window.location.reload(); });
        es.addEventListener("off", function () {
            es.close();
            push.off = true;
            push.es = null;
            schedulePoke();
        });
        es.onerror = function () {
            if (es !== push.es) { return; }
            // A dropped connection reconnects by itself (retry: 1 s); an HTTP error (no session,
            // no free slot, a down database at login) closes it: try again later, tick meanwhile.
            if (es.readyState === 2) {
                push.es = null;
                push.failures += 1;
                var wait = Math.min(PUSH_RETRY_MAX_MS, PUSH_RETRY_MS * Math.pow(2, Math.min(push.failures - 1, 5)));
                push.retry = setTimeout(connectPush, wait);
            }
            push.lastAt = 0;
            schedulePoke();
        };
    }

    function delivered(t) {
        push.lastAt = Date.now();
        push.failures = 0;
        if (poke.timer !== null) { clearTimeout(poke.timer); poke.timer = null; }
        heard({t: t});
    }

    /* live-slow: the slower panels' version, the same for every wall in a 10-second epoch
     * (callbacks/live.py slow_version). Walls pass it on within SLOW_JITTER_MS of each other, so
     * that a room of walls does not ask for every panel in the same instant: spread over 8 of the
     * 10 seconds, 100 walls' panel requests no longer hold up the frames (p95 commit-to-screen
     * 2.5 s with 4 s of spread, 1.1 s with 8 s; docs/benchmarks.md 2.1). */
    function passSlow(slow, at_once) {
        if (!slow) { return; }
        var shown = push.slow;
        if (shown && shown.v === slow.v && shown.view === slow.view && !shown.stale) { return; }
        if (push.slowNext && push.slowNext.v === slow.v && push.slowNext.view === slow.view) { return; }
        push.slowNext = slow;
        if (push.slowTimer !== null) { clearTimeout(push.slowTimer); }
        // At once after a view change or an outage, and when the alerts moved (a critical alert);
        // else within the jitter.
        var wait = (at_once || !shown || shown.stale || shown.view !== slow.view || shown.alerts !== slow.alerts)
            ? 0 : Math.random() * SLOW_JITTER_MS;
        push.slowTimer = setTimeout(function () {
            push.slowTimer = null;
            push.slow = push.slowNext;
            push.slowNext = null;
            setProps("live-slow", {data: push.slow});
        }, wait);
    }

    function onBeat(beat) {
        delivered(beat.t);
        if (push.pending === null) { showsCurrent(push.live); }  // nothing newer than what is shown
    }

    // --- the case stream (#case-stream) -----------------------------------------------------------

    /* #case-stream is drawn here, not by the renderer, on both paths (a push frame, the tick's
     * stream-feed store). Through Dash, every update of the list re-created its few hundred
     * components, and each of them dispatched to the store, which re-ran every mounted component's
     * selector: a busy wall spent about a second of script per second there (docs/benchmarks.md
     * 2.1). Entries arrive as the JSON of html components (layouts/stream.py case_entry) and
     * become DOM nodes through the adapter's allow-list renderer (gridwallDash.toNode). The layout
     * keeps the list's children empty, so React never touches these nodes. */
    var FRESH_MS = 8000;  // how long a new entry stays tinted

    function entryNode(entry, fresh) {
        var node = dash.toNode(entry);
        if (node && fresh) {
            node.classList.add("case--fresh");
            node.gwFreshUntil = Date.now() + FRESH_MS;
        }
        return node;
    }

    function unmarkFresh(now) {
        var marked = document.querySelectorAll("#case-stream .case--fresh");
        for (var i = 0; i < marked.length; i += 1) {
            if (!(marked[i].gwFreshUntil > now)) { marked[i].classList.remove("case--fresh"); }
        }
    }

    var stream = {view: null, keys: null, entries: {}};

    /* Show ``keys`` (newest first). ``entries`` holds the entries the page may not have yet; new
     * cases on top with the rest slid down are inserted and the tail dropped, anything else (or
     * ``redraw``) draws the list again. A new key is highlighted unless the list was empty. */
    function showStream(view, keys, entries, redraw) {
        var box = document.getElementById("case-stream");
        if (!box || !Array.isArray(keys)) { return; }
        if (view !== stream.view) { stream.view = view; stream.keys = null; stream.entries = {}; }
        Object.keys(entries || {}).forEach(function (key) { stream.entries[key] = entries[key]; });
        var before = stream.keys || [];
        var known = {}, i;
        before.forEach(function (key) { known[key] = true; });
        var fresh = [];
        for (i = 0; i < keys.length && !known[keys[i]]; i += 1) { fresh.push(keys[i]); }
        var slid = !redraw && before.length > 0 && fresh.length < keys.length &&
            box.childElementCount === before.length &&
            keys.slice(fresh.length).every(function (key, j) { return key === before[j]; }) &&
            fresh.every(function (key) { return stream.entries[key]; });
        var keep = {};
        keys.forEach(function (key) { if (stream.entries[key]) { keep[key] = stream.entries[key]; } });
        stream.entries = keep;
        stream.keys = keys.slice();
        if (slid) {
            if (fresh.length === 0 && keys.length === before.length) { return; }
            for (i = fresh.length - 1; i >= 0; i -= 1) {
                box.insertBefore(entryNode(stream.entries[fresh[i]], true), box.firstChild);
            }
            while (box.childElementCount > keys.length) { box.removeChild(box.lastElementChild); }
            return;
        }
        var list = document.createDocumentFragment();
        keys.forEach(function (key) {
            if (keep[key]) { list.appendChild(entryNode(keep[key], before.length > 0 && !known[key])); }
        });
        box.replaceChildren(list);
    }

    /* The tick's stream-feed store (callbacks/wall.py update_stream): a clientside callback. */
    function streamFeed(feed) {
        if (feed && typeof feed === "object") { showStream(feed.view, feed.keys, feed.entries, !!feed.full); }
        return window.dash_clientside.no_update;
    }

    /* Frames are applied at most every APPLY_GAP_MS: one that arrives meanwhile is merged into the
     * waiting one (the newest figures and keys, the entries of both). A wall that falls behind
     * (a slow display PC, a busy machine) catches up at once instead of working through a queue. */
    function queueFrame(frame) {
        delivered(frame.t);
        var waiting = push.pending;
        if (waiting && waiting.entries && frame.entries) {
            frame.entries = Object.assign(waiting.entries, frame.entries);
        } else if (waiting && waiting.entries && !(frame.live && frame.live.stale)) {
            frame.entries = waiting.entries;
        }
        push.pending = frame;
        if (push.applyTimer === null) {
            push.applyTimer = setTimeout(applyPending, Math.max(0, push.appliedAt + APPLY_GAP_MS - Date.now()));
        }
    }

    function applyPending() {
        push.applyTimer = null;
        var frame = push.pending;
        push.pending = null;
        push.appliedAt = Date.now();
        if (frame) { onFrame(frame); }
    }

    function onFrame(frame) {
        var live = frame.live;
        var force = push.tickSince;
        push.tickSince = false;
        if (live && push.view !== null && live.view && live.view !== push.view) { resetPushView(); force = true; }
        var was = push.live;
        push.live = live;
        state.live = live;
        // live-version matters to the tick path only (its known version): set it when that changes
        // in kind, not with every frame (each store update costs a pass over every component).
        if (!was || !live || !!was.stale !== !!live.stale || was.view !== live.view) {
            setProps("live-version", {data: live});
        }
        drawFreshness();
        if (live && live.stale) {
            if (push.slowTimer !== null) { clearTimeout(push.slowTimer); push.slowTimer = null; }
            push.slowNext = null;
            setProps("live-slow", {data: live});
            push.slow = live;
            stream.keys = null;  // after the outage the whole list is drawn again
            return;
        }
        if (live && live.view) { push.view = live.view; }
        if (frame.tiles) {
            Object.keys(frame.tiles).forEach(function (id) {
                var text = JSON.stringify(frame.tiles[id]);
                if (force || push.tiles[id] !== text) {
                    push.tiles[id] = text;
                    setProps(id, {children: frame.tiles[id]});
                }
            });
        }
        if (frame.keys) { showStream(push.view, frame.keys, frame.entries, false); }
        passSlow(frame.slow, force);
        showsCurrent(live);
    }

    // Called every second (the freshness callback): follow the URL, and the channel's health.
    function watchPush() {
        if (push.off) { return; }
        if (push.search !== window.location.search && push.retry === null) { connectPush(); }
        var delivering = pushDelivering();
        if (push.wasDelivering && !delivering) {
            // The tick answers against digests and keys it last sent; the channel has moved the
            // page on since: let the tick send everything once.
            setProps("figures-state", {data: null});
            setProps("stream-state", {data: null});
            if (push.live) { setProps("live-version", {data: push.live}); }
        }
        push.wasDelivering = delivering;
        if (!delivering && !poke.outstanding) { schedulePoke(); }
    }

    function pad(n) { return (n < 10 ? "0" : "") + n; }

    function hhmmss(ms, tz) {
        var d = new Date(ms);
        try {
            var parts = {};
            new Intl.DateTimeFormat("en-GB", {
                timeZone: tz || "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit",
                hour12: false
            }).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
            return (parts.hour === "24" ? "00" : parts.hour) + ":" + parts.minute + ":" + parts.second;
        } catch (e) {
            return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
        }
    }

    /* A heartbeat from either path: the tick's answer (live-beat) or the push channel. */
    function heard(beat) {
        var now = Date.now();
        state.beat = beat;
        state.beatAt = now;
        state.skew = (beat.t || now) - now;
        if (window.gridwall && window.gridwall.setServerTime) { window.gridwall.setServerTime(beat.t); }
    }

    /* #freshness, written straight into the page (like the clock: no store update every second):
     * the link's state only. The feed's age (the deployment's last case change) is its tooltip. */
    function drawFreshness() {
        var now = Date.now();
        var live = state.live;
        var text, stale = "false", feed = "ok";
        if (live && live.stale) {
            text = "数据中断 自 " + live.since_text;
            stale = "true";
        } else if (state.beatAt !== null && now - state.beatAt > LOST_MS) {
            text = "数据中断 自 " + hhmmss(state.beat.t, live && live.tz);
            stale = "true";
        } else if (!live) {
            text = "—";
        } else if (live.mode === "history") {
            text = "历史数据 · " + live.at_text;
        } else if (live.as_of && live.stall_ms && now + state.skew - live.as_of > live.stall_ms) {
            // The link is up but the platform has changed no case anywhere for hours: its sync is broken.
            text = "数据停滞 · 最新变更 " + live.as_of_day_text;
            stale = "true";
            feed = "stalled";
        } else {
            text = "实时";
        }
        var el = document.getElementById("freshness");
        if (!el) { return; }
        if (el.textContent !== text) { el.textContent = text; }
        if (el.getAttribute("data-stale") !== stale) { el.setAttribute("data-stale", stale); }
        if (el.getAttribute("data-feed") !== feed) { el.setAttribute("data-feed", feed); }
        // live or history (?at=); an outage keeps the mode it interrupts.
        if (live && live.mode && el.getAttribute("data-mode") !== live.mode) { el.setAttribute("data-mode", live.mode); }
        var title = live && !live.stale && live.as_of_text ? "全平台最新变更 " + live.as_of_text : "";
        if (el.title !== title) { el.title = title; }
        // The panels dim with the badge. A class set here, not by the renderer: the kiosk callback
        // rewrites #wall's className, and the next second puts it back.
        var wall = document.getElementById("wall");
        if (wall && wall.classList.contains("wall--stale") !== (stale === "true")) {
            wall.classList.toggle("wall--stale", stale === "true");
        }
        drawRegionLastCase(live, now);
    }

    /* #region-last-case: the view's own last case change, kept as it is through an outage. Amber
     * (data-quiet) when the region is quieter than usual: at its usual pace for these hours of
     * this weekday (live.usual: changes per local hour, callbacks/live/tick.py usual_pace) the
     * time since would have brought QUIET_EXPECTED changes, so silence that long happens in
     * fewer than 1 in 20 such stretches (Poisson: e^-3). A night with no cases as usual stays plain. */
    var QUIET_EXPECTED = 3;
    var HOUR_MS = 3600000;

    function drawRegionLastCase(live, now) {
        var el = document.getElementById("region-last-case");
        if (!el || (live && live.stale)) { return; }
        var text = "";
        var quiet = "false";
        if (live && live.view) {
            text = live.region_as_of_text ? "最新事件 " + live.region_as_of_text : "暂无事件";
            var ref = (live.ref !== null && live.ref !== undefined) ? live.ref : now + state.skew;
            if (live.region_as_of && expectedChanges(live.usual, live.region_as_of, ref, live.tz) >= QUIET_EXPECTED) {
                quiet = "true";
            }
        }
        if (el.textContent !== text) { el.textContent = text; }
        if (el.getAttribute("data-quiet") !== quiet) { el.setAttribute("data-quiet", quiet); }
        var title = quiet === "true" ? "比该时段平常安静" : "";
        if (el.title !== title) { el.title = title; }
    }

    var clockParts = {tz: null, format: null};

    /* The local hour, minute and second of ``ms`` in ``tz``. */
    function localTime(ms, tz) {
        try {
            if (clockParts.tz !== tz) {
                clockParts = {tz: tz, format: new Intl.DateTimeFormat("en-GB", {
                    timeZone: tz || "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit",
                    hour12: false})};
            }
            var parts = {};
            clockParts.format.formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
            return {hour: parseInt(parts.hour, 10) % 24, minute: parseInt(parts.minute, 10),
                    second: parseInt(parts.second, 10)};
        } catch (e) {
            var d = new Date(ms);
            return {hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds()};
        }
    }

    /* The changes the usual pace brings between ``from`` and ``to`` (ms), hour by local hour. */
    function expectedChanges(usual, from, to, tz) {
        if (!Array.isArray(usual) || usual.length !== 24 || !(to > from)) { return 0; }
        var total = 0;
        var t = from;
        for (var steps = 0; t < to && steps < 49 && total < QUIET_EXPECTED; steps += 1) {
            var local = localTime(t, tz);
            var next = Math.min(to, t - (t % 1000) + ((60 - local.minute) * 60 - local.second) * 1000);
            if (next <= t) { next = Math.min(to, t + 1000); }
            total += (usual[local.hour] || 0) * (next - t) / HOUR_MS;
            t = next;
        }
        return total;
    }

    /* Dash keeps an undo history of every input prop that changes other than by a server answer:
     * each set_props here (tiles, live-slow, live-poke) adds an entry that is never dropped, and
     * each holds the props it replaced. The wall never undoes; over an hour that history was the
     * JS heap's steady growth (bench/soak.py, docs/benchmarks.md 4). Keep the newest few. */
    var UNDO_KEPT = 20;

    /* Every second: the channel's health, a lost tick, the data age, the undo history. */
    function everySecond() {
        var now = Date.now();
        dash.trimUndoHistory(UNDO_KEPT);
        unmarkFresh(now);
        if (dash.canSetProps()) { watchPush(); }
        if (poke.outstanding && now - poke.at > POKE_TIMEOUT_MS) {
            poke.outstanding = false;  // lost, or the server is down: ask again
            schedulePoke();
        }
        drawFreshness();
    }

    /* The clientside callback on the tick path's stores (live-version, live-beat). */
    function freshness(live, beat) {
        var answered = beat && beat !== state.tickBeat;
        if (answered) {
            state.tickBeat = beat;
            heard(beat);
            poke.outstanding = false;
            schedulePoke();
        }
        if (live !== state.tickLive) {
            state.tickLive = live;
            state.live = live;
        }
        if (answered) { showsCurrent(live); }  // a tick's answer: its figures are on the page
        drawFreshness();
        var noUpdate = window.dash_clientside.no_update;
        return [noUpdate, noUpdate];
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        gridwall_live: {freshness: freshness, stream: streamFeed}
    });
    // For benchmarks and tests: how the tick loop is doing.
    window.setInterval(everySecond, 1000);
    window.gridwallLive = function () {
        return {pokes: poke.seq, outstanding: poke.outstanding, lastPokeAt: poke.at, lastBeatAt: state.beatAt,
                push: push.off ? "off" : (pushDelivering() ? "delivering" : (push.es ? "connecting" : "closed")),
                pushFailures: push.failures, currentAt: state.currentAt};
    };
}());
