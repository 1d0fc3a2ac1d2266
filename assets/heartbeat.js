/* gridwall wall: the heartbeat (wall self-health, dashboard/web/heartbeat.py) and the reloads it decides.
 *
 * Every 30 s (#wall's data-heartbeat-ms, or window.GRIDWALL_HEARTBEAT_MS for a test) the wall posts to
 * /live/heartbeat: its id (random, kept in localStorage), its URL query (the server reads the region,
 * clamped to the user's scope, and the display: kiosk, rotation, seams, scale), the age of what it
 * shows (assets/live.js currentAt: the last frame applied or the last word that nothing moved), its JS
 * heap (Chromium's performance.memory) and the code version it was served with (#wall's
 * data-code-version). /ops lists the walls; a kiosk wall that stops reporting raises an alert.
 *
 * The answer carries the server's code version and the heap ceiling (GRIDWALL_WALL_HEAP_MB). The
 * page reloads itself, keeping its URL (the view lives in the query string), when the server's
 * version differs from its own (a deployment), or when its heap passes the ceiling (the memory
 * watchdog). The reason goes to the console. No reload loops: one for a given new version per
 * VERSION_GAP_MS, one for the heap per HEAP_GAP_MS (sessionStorage remembers across the reload). */
(function () {
    "use strict";

    var PATH = "/live/heartbeat";
    var DEFAULT_MS = 30000;
    var FIRST_MS = 5000;  // the first report, once the page has had its first frames
    var HEAP_GAP_MS = 300000;
    var VERSION_GAP_MS = 60000;
    var ID_KEY = "gridwall-wall-id";
    var RELOAD_KEY = "gridwall-reload";
    var MB = 1024 * 1024;

    var hb = {id: null, sent: 0, answered: 0, lastStatus: null, lastAnswer: null, timer: null, reloading: null};

    function randomId() {
        var bytes = new Uint8Array(12);
        (window.crypto || window.msCrypto).getRandomValues(bytes);
        return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    }

    function wallId() {
        if (hb.id) { return hb.id; }
        try {
            hb.id = window.localStorage.getItem(ID_KEY);
            if (!hb.id || !/^[A-Za-z0-9_-]{8,64}$/.test(hb.id)) {
                hb.id = randomId();
                window.localStorage.setItem(ID_KEY, hb.id);
            }
        } catch (e) {  // no storage (a locked-down kiosk browser): an id for this page's life
            hb.id = hb.id || randomId();
        }
        return hb.id;
    }

    function wallEl() { return document.getElementById("wall"); }

    function interval() {
        var ms = Number(window.GRIDWALL_HEARTBEAT_MS) || Number((wallEl() || {dataset: {}}).dataset.heartbeatMs);
        return ms > 0 ? ms : DEFAULT_MS;
    }

    function servedVersion() {
        var el = wallEl();
        return (el && el.getAttribute("data-code-version")) || null;
    }

    function frameAge() {
        var live = window.gridwallLive ? window.gridwallLive() : null;
        if (!live || !live.currentAt) { return null; }
        return Math.max(0, Math.round((Date.now() - live.currentAt) / 100) / 10);
    }

    function heapBytes() {
        var memory = window.performance && window.performance.memory;
        return memory && memory.usedJSHeapSize ? memory.usedJSHeapSize : null;
    }

    function lastReload() {
        try { return JSON.parse(window.sessionStorage.getItem(RELOAD_KEY) || "null"); } catch (e) { return null; }
    }

    function reload(reason, target) {
        var now = Date.now();
        var last = lastReload();
        var gap = reason === "heap" ? HEAP_GAP_MS : VERSION_GAP_MS;
        // The heap: one reload per HEAP_GAP_MS whatever the size; the version: one per new version.
        if (last && last.reason === reason && (reason === "heap" || last.target === target) && now - last.at < gap) {
            console.warn("gridwall: " + reason + " reload skipped: one was done " + Math.round((now - last.at) / 1000) +
                         " s ago (" + target + ")");
            return;
        }
        try {
            window.sessionStorage.setItem(RELOAD_KEY, JSON.stringify({reason: reason, target: target, at: now}));
        } catch (e) { /* no storage: the gap is not kept across the reload */ }
        console.warn("gridwall: reloading the wall: " + (reason === "heap"
            ? "JS heap " + target + " over the ceiling" : "the server runs code version " + target +
              ", this page was served with " + servedVersion()));
        hb.reloading = reason;
        window.location.reload();  // the same URL: region, kiosk, rotation, scale stay
    }

    function onAnswer(answer) {
        hb.answered += 1;
        hb.lastAnswer = answer;
        if (!answer || typeof answer !== "object") { return; }
        var mine = servedVersion();
        if (answer.version && mine && answer.version !== mine) {
            reload("version", answer.version);
            return;
        }
        var heap = heapBytes();
        if (heap && answer.heap_mb > 0 && heap > answer.heap_mb * MB) {
            reload("heap", Math.round(heap / MB) + " MB > " + answer.heap_mb + " MB");
        }
    }

    function send() {
        hb.timer = null;
        var body = {wall: wallId(), search: window.location.search || "", frame_age: frameAge(),
                    heap: heapBytes(), version: servedVersion()};
        hb.sent += 1;
        window.fetch(PATH, {method: "POST", credentials: "same-origin", cache: "no-store",
                            headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
            .then(function (resp) {
                hb.lastStatus = resp.status;
                return resp.ok ? resp.json() : null;
            })
            .then(function (answer) { if (answer) { onAnswer(answer); } })
            .catch(function () { hb.lastStatus = 0; })  // the server is away: the next beat tries again
            .then(schedule);
    }

    function schedule() {
        if (hb.timer === null && hb.reloading === null) { hb.timer = setTimeout(send, interval()); }
    }

    hb.timer = setTimeout(send, Math.min(FIRST_MS, interval()));
    // For tests and benchmarks: what the heartbeat has done.
    window.gridwallHeartbeat = function () {
        return {wall: hb.id, sent: hb.sent, answered: hb.answered, lastStatus: hb.lastStatus,
                lastAnswer: hb.lastAnswer, reloading: hb.reloading};
    };
}());
