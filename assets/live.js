/* gridwall wall: the tick loop and #freshness (callbacks/live.py).
 *
 * The tick loop: when the server's answer to a tick is in (a new heartbeat), the next tick is
 * asked for by setting the live-poke store, at most every MIN_GAP_MS; the server holds a tick
 * open until something changes or a second has passed. A tick that fails (an error status, no
 * connection: the server cannot check the session while the database is down) is asked again
 * after RETRY_MS; one that gets no answer at all, after POKE_TIMEOUT_MS.
 *
 * #freshness is drawn from the live-version store and the heartbeat: the data age keeps counting
 * between data versions, and the wall says "数据中断 自 hh:mm:ss" when the server reports an
 * outage or stops answering altogether. */
(function () {
    "use strict";

    var LOST_MS = 3000;  // no heartbeat for this long: the server is unreachable
    var MIN_GAP_MS = 500;
    var POKE_TIMEOUT_MS = 3500;
    var RETRY_MS = 1000;

    var state = {beat: null, beatAt: null, skew: 0, text: null, stale: null};
    // The page's first tick is the initial call of the server callback: count it as asked.
    var poke = {seq: 0, at: Date.now(), outstanding: true, timer: null};

    function sendPoke() {
        poke.timer = null;
        poke.seq += 1;
        poke.at = Date.now();
        poke.outstanding = true;
        window.dash_clientside.set_props("live-poke", {data: poke.seq});
    }

    function schedulePoke() {
        if (poke.timer !== null) { return; }
        poke.timer = setTimeout(sendPoke, Math.max(0, poke.at + MIN_GAP_MS - Date.now()));
    }

    function tickFailed() {
        poke.outstanding = false;
        poke.at = Date.now() + RETRY_MS - MIN_GAP_MS;
        schedulePoke();
    }

    // The renderer reports no failed request to the page: watch the tick's own requests.
    var realFetch = window.fetch;
    window.fetch = function (input, init) {
        var answer = realFetch.apply(this, arguments);
        var body = init && init.body;
        if (typeof body !== "string" || body.indexOf('"live-poke"') === -1) { return answer; }
        return answer.then(function (response) {
            if (!response.ok) { tickFailed(); }
            return response;
        }, function (error) {
            tickFailed();
            throw error;
        });
    };

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

    /* The same words as layouts/i18n.py duration(): 45秒, 12分钟, 3小时20分, 2天5小时. */
    function duration(seconds) {
        var s = Math.max(0, Math.floor(seconds));
        if (s < 60) { return s + "秒"; }
        var minutes = Math.floor(s / 60);
        if (minutes < 60) { return minutes + "分钟"; }
        var hours = Math.floor(minutes / 60);
        minutes = minutes % 60;
        if (hours < 24) { return minutes ? hours + "小时" + minutes + "分" : hours + "小时"; }
        var days = Math.floor(hours / 24);
        hours = hours % 24;
        return hours ? days + "天" + hours + "小时" : days + "天";
    }

    function freshness(_n, live, beat) {
        var now = Date.now();
        if (beat && beat !== state.beat) {
            state.beat = beat;
            state.beatAt = now;
            state.skew = (beat.t || now) - now;
            poke.outstanding = false;
            schedulePoke();
        } else if (poke.outstanding && now - poke.at > POKE_TIMEOUT_MS) {
            poke.outstanding = false;  // lost, or the server is down: ask again
            schedulePoke();
        }
        var text, stale = "false";
        if (live && live.stale) {
            text = "数据中断 自 " + live.since_text;
            stale = "true";
        } else if (state.beatAt !== null && now - state.beatAt > LOST_MS) {
            text = "数据中断 自 " + hhmmss(state.beat.t, live && live.tz);
            stale = "true";
        } else if (!live) {
            text = "—";
        } else if (live.as_of === null || live.as_of === undefined) {
            text = "暂无数据";
        } else {
            var ref = (live.ref !== null && live.ref !== undefined) ? live.ref : now + state.skew;
            text = "数据 " + live.as_of_text + " · " + duration((ref - live.as_of) / 1000) + "前";
        }
        var noUpdate = window.dash_clientside.no_update;
        if (text === state.text && stale === state.stale) {
            return [noUpdate, noUpdate];
        }
        state.text = text;
        state.stale = stale;
        return [text, stale];
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        gridwall_live: {freshness: freshness}
    });
    // For benchmarks and tests: how the tick loop is doing.
    window.gridwallLive = function () {
        return {pokes: poke.seq, outstanding: poke.outstanding, lastPokeAt: poke.at, lastBeatAt: state.beatAt};
    };
}());
