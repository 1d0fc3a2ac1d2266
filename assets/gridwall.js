/* gridwall wall: everything the browser does by itself. Loaded by Dash from assets/ before the
 * renderer starts. No network access of its own: no fonts, tiles, sounds or scripts from outside.
 *
 * - map styling, labels and markers for dash-leaflet (values arrive in `hideout`);
 * - the clock, the SLA timers and "minutes ago", ticking every second without a server round trip;
 * - drill-down clicks on table rows and the breadcrumb (history.pushState, no page load);
 * - lists cut to whole entries that fit their panel (a wall never scrolls);
 * - kiosk mode, rotation through the streets, the alert chime and its mute switch (localStorage);
 * - the trend chart, drawn from a few dozen numbers with type sized to the screen. */
(function () {
    "use strict";

    var gw = window.gridwall = Object.assign({}, window.gridwall);
    gw.frozenAt = null;  // ms: a past view (?at=) stops every clock at its moment
    gw.skew = 0;  // server clock minus browser clock, ms
    gw.clockTz = "Asia/Shanghai";
    // The server's clock as the page last heard it (assets/live.js calls this with each heartbeat).
    gw.setServerTime = function (t) { if (t) { gw.skew = t - Date.now(); } };

    function now() { return gw.frozenAt !== null ? gw.frozenAt : Date.now() + gw.skew; }

    function pad(n) { return (n < 10 ? "0" : "") + n; }

    /* --- map ------------------------------------------------------------------------------- */

    function classIndex(value, breaks) {
        for (var i = 0; i < breaks.length; i++) {
            if (value <= breaks[i]) { return i; }
        }
        return breaks.length;
    }

    function regionOf(feature, context) {
        var hideout = (context && context.hideout) || {};
        var code = feature && feature.properties ? feature.properties.code : null;
        var values = hideout.values || {};
        return {hideout: hideout, code: code, value: values.hasOwnProperty(code) ? values[code] : null};
    }

    var SEVERITY_COLOUR = {critical: "#ff4d5a", warning: "#f5c542", info: "#4fb3ff"};
    var CASE_COLOUR = {o: "#ff4d5a", w: "#f5c542", n: "#4fd1ff"};

    var map = {
        /* Fill by the chosen figure's class; a region without a value stays neutral. */
        style: function (feature, context) {
            var r = regionOf(feature, context);
            var palette = r.hideout.palette || ["#1d4f7a"];
            var fill = "#24344d";
            if (r.value !== null && r.value !== undefined) {
                var idx = classIndex(r.value, r.hideout.breaks || []);
                fill = palette[Math.min(idx, palette.length - 1)];
            }
            var overdue = (r.hideout.overdue || {})[r.code] > 0;
            return {
                color: overdue ? "#ff8a8a" : "#9fc6ff",
                weight: overdue ? 2.2 : 1.4,
                opacity: 0.9,
                fillColor: fill,
                fillOpacity: 0.55
            };
        },
        hover: function () { return {weight: 4, color: "#ffffff", fillOpacity: 0.7}; },
        /* A permanent label at the region's centre; its HTML is escaped on the server. Labels
         * follow hideout: dash-leaflet re-runs this when hideout changes. */
        label: function (feature, layer, context) {
            var r = regionOf(feature, context);
            var content = (r.hideout.labels || {})[r.code];
            var leafletMap = context && context.map;
            if (leafletMap && !leafletMap._gwDeclutter) {  // labels move with the zoom: sort them out again
                leafletMap._gwDeclutter = true;
                leafletMap.on("zoomend moveend resize", function () { scheduleFit(); });
            }
            if (content) {
                layer.bindTooltip(content, {permanent: true, direction: "center", className: "region-label", opacity: 1});
            }
        },
        casePoint: function (feature, latlng) {
            var p = feature.properties || {};
            var colour = CASE_COLOUR[p.s] || CASE_COLOUR.n;
            return L.circleMarker(latlng, {
                radius: (p.s === "o" ? 0.36 : 0.26) * rem(), color: "#02060f", weight: 1, fillColor: colour, fillOpacity: 0.95,
                interactive: false
            });
        },
        cluster: function (feature, latlng, index) {
            var count = feature.properties.point_count;
            var worst = "n";
            try {
                var leaves = index.getLeaves(feature.properties.cluster_id, Infinity);
                for (var i = 0; i < leaves.length; i++) {
                    var s = leaves[i].properties.s;
                    if (s === "o") { worst = "o"; break; }
                    if (s === "w") { worst = "w"; }
                }
            } catch (e) { /* leave it plain */ }
            var size = (count < 10 ? 1.35 : (count < 100 ? 1.7 : 2.1)) * rem();
            var icon = L.divIcon({
                html: "<div class='cl cl--" + worst + "'><span>" + count + "</span></div>",
                className: "case-cluster",
                iconSize: L.point(size, size)
            });
            return L.marker(latlng, {icon: icon, interactive: false, keyboard: false});
        },
        alertPoint: function (feature, latlng) {
            var p = feature.properties || {};
            var sev = SEVERITY_COLOUR[p.sev] ? p.sev : "info";
            var icon = L.divIcon({
                html: "<div class='am am--" + sev + (p["new"] ? " am--new" : "") + "'><b>!</b>" +
                    (p.n > 1 ? "<i>" + p.n + "</i>" : "") + "</div>",
                className: "alert-marker",
                iconSize: L.point(1.35 * rem(), 1.35 * rem())
            });
            return L.marker(latlng, {icon: icon, interactive: false, keyboard: false, zIndexOffset: 1000});
        }
    };
    gw.map = map;

    /* --- time formats (the same words as layouts/i18n.py) ---------------------------------- */

    function span(seconds) {
        var s = Math.max(0, Math.floor(seconds));
        var days = Math.floor(s / 86400);
        s -= days * 86400;
        var text = pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s % 3600 / 60)) + ":" + pad(s % 60);
        return days ? days + "天" + text : text;
    }

    function ago(seconds) {
        var s = Math.max(0, Math.floor(seconds));
        if (s < 60) { return "刚刚"; }
        if (s < 3600) { return Math.floor(s / 60) + "分钟前"; }
        if (s < 86400) { return Math.floor(s / 3600) + "小时前"; }
        return Math.floor(s / 86400) + "天前";
    }

    var WEEKDAYS = ["日", "一", "二", "三", "四", "五", "六"];

    /* Wall-clock date and time in the configured zone (not the browser's). */
    function formatIn(date, tz) {
        var parts = {};
        try {
            new Intl.DateTimeFormat("en-GB", {
                timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
                hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short", hour12: false
            }).formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
        } catch (e) {
            parts = {
                year: date.getFullYear(), month: pad(date.getMonth() + 1), day: pad(date.getDate()),
                hour: pad(date.getHours()), minute: pad(date.getMinutes()), second: pad(date.getSeconds())
            };
        }
        var wd = {Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6}[parts.weekday];
        var hour = parts.hour === "24" ? "00" : parts.hour;
        return {
            date: parts.year + "-" + parts.month + "-" + parts.day + (wd === undefined ? "" : " 星期" + WEEKDAYS[wd]),
            time: hour + ":" + parts.minute + ":" + parts.second
        };
    }

    /* --- ticking: timers and "minutes ago", once a second, in the browser only -------------- */

    /* The clock is written straight into the page every second: through Dash it would be a store
     * update that every mounted component's selector re-checks (thousands on a wall). */
    function tickClock(t) {
        var clock = document.getElementById("clock");
        if (!clock || !clock.firstChild) { return; }
        var f = formatIn(new Date(t), gw.clockTz);
        var date = clock.querySelector(".clock-date"), time = clock.querySelector(".clock-time");
        if (date && date.textContent !== f.date) { date.textContent = f.date; }
        if (time && time.textContent !== f.time) { time.textContent = f.time; }
    }

    function tick() {
        var t = now();
        tickClock(t);
        var timers = document.querySelectorAll("[data-due]");
        for (var i = 0; i < timers.length; i++) {
            var el = timers[i];
            var due = +el.getAttribute("data-due");
            if (!due) { continue; }
            var up = el.getAttribute("data-dir") === "up";
            if (!up && t > due) {  // a countdown ran out: it is overdue now and counts up
                up = true;
                el.setAttribute("data-dir", "up");
                el.classList.remove("timer--warning");
                el.classList.add("timer--overdue");
            }
            var text = span((up ? t - due : due - t) / 1000);
            if (el.textContent !== text) { el.textContent = text; }
        }
        var since = document.querySelectorAll("[data-since]");
        for (var j = 0; j < since.length; j++) {
            var s = since[j];
            var label = ago((t - (+s.getAttribute("data-since"))) / 1000);
            if (s.textContent !== label) { s.textContent = label; }
        }
    }

    /* --- lists cut to what fits ------------------------------------------------------------- */

    var MORE_NOTE_REM = 1.25;  // the height of the "另有 N 项" note (assets/wall.css, .fit-list[data-more])

    /* Hide the entries of each .fit-list that do not fit whole; the list says how many it hides. */
    function fitLists() {
        var lists = document.querySelectorAll(".fit-list");
        for (var i = 0; i < lists.length; i++) {
            var list = lists[i];
            var kids = list.children;
            if (kids.length === 1 && kids[0].classList.contains("empty")) { continue; }
            for (var k = 0; k < kids.length; k++) {
                if (kids[k].hidden) { kids[k].hidden = false; }
            }
            var bottom = list.getBoundingClientRect().bottom + 0.5;
            var cut = firstOver(kids, bottom);
            if (cut < kids.length) {  // leave room for the "另有 N 项" note below the last whole entry
                cut = firstOver(kids, bottom - MORE_NOTE_REM * rem());
            }
            var hidden = 0;
            for (var n = cut; n < kids.length; n++) {
                kids[n].hidden = true;
                hidden++;
            }
            var more = hidden ? String(hidden) : null;
            if (list.getAttribute("data-more") !== more) {
                if (more === null) { list.removeAttribute("data-more"); } else { list.setAttribute("data-more", more); }
            }
        }
    }

    /* A figure too wide for its tile (a five-digit count, a long delta, a rate) is set smaller, never cut. */
    function fitFigures() {
        var figures = document.querySelectorAll(".tile-figure, .rate");
        for (var i = 0; i < figures.length; i++) {
            var box = figures[i];
            var value = box.querySelector(".tile-value, .rate-value");
            if (!value) { continue; }
            if (value.style.fontSize) { value.style.fontSize = ""; }
            if (box.scrollWidth <= box.clientWidth + 0.5) { continue; }
            var size = parseFloat(window.getComputedStyle(value).fontSize);
            for (var step = 0; step < 8 && box.scrollWidth > box.clientWidth + 0.5; step++) {
                size *= 0.92;
                value.style.fontSize = size + "px";
            }
        }
    }

    function firstOver(kids, limit) {
        for (var i = 0; i < kids.length; i++) {
            if (kids[i].getBoundingClientRect().bottom > limit) { return i; }
        }
        return kids.length;
    }

    function overlaps(a, list) {
        for (var i = 0; i < list.length; i++) {
            var b = list[i];
            if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) { return true; }
        }
        return false;
    }

    /* Map labels that collide: the more pressing region keeps its whole label, the next one shows
     * its figure only, and a label that still collides is hidden (the table lists every region). */
    function declutter() {
        var labels = Array.prototype.slice.call(document.querySelectorAll("#map .leaflet-tooltip.region-label"));
        if (!labels.length) { return; }
        labels.forEach(function (el) { el.classList.remove("rl-compact", "rl-hidden"); });
        labels.sort(function (a, b) {
            var pa = +((a.querySelector(".rl") || {}).dataset || {}).p || 0;
            var pb = +((b.querySelector(".rl") || {}).dataset || {}).p || 0;
            return pb - pa;
        });
        var kept = [];
        labels.forEach(function (el) {
            var r = el.getBoundingClientRect();
            if (!overlaps(r, kept)) { kept.push(r); return; }
            el.classList.add("rl-compact");
            r = el.getBoundingClientRect();
            if (!overlaps(r, kept)) { kept.push(r); return; }
            el.classList.add("rl-hidden");
        });
    }

    var fitPending = false;

    function scheduleFit() {
        if (fitPending) { return; }
        fitPending = true;
        window.requestAnimationFrame(function () { fitPending = false; fitFigures(); fitLists(); declutter(); });
    }

    /* --- navigation: drill down from tables and the breadcrumb without a page load ---------- */

    function navigate(search) {
        if (search === window.location.search || (search === "?" && !window.location.search)) { return; }
        window.history.pushState({}, "", window.location.pathname + (search === "?" ? "" : search));
        window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    }

    function withRegion(search, code) {
        var params = new URLSearchParams(search || "");
        if (code) { params.set("region", code); } else { params["delete"]("region"); }
        params["delete"]("rotate");  // a person drilling in stops the rotation
        var text = params.toString();
        return "?" + text;
    }

    function onClick(event) {
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
        var link = event.target.closest ? event.target.closest("#breadcrumb a[href], .drill[data-region]") : null;
        if (!link) { return; }
        event.preventDefault();
        if (link.tagName === "A") {
            var href = new URL(link.getAttribute("href"), window.location.href);
            var params = new URLSearchParams(href.search);
            params["delete"]("rotate");
            navigate("?" + params.toString());
        } else {
            navigate(withRegion(window.location.search, link.getAttribute("data-region")));
        }
    }

    function onKey(event) {
        if (event.key === "Enter" && event.target.matches && event.target.matches(".drill[data-region]")) {
            onClick({target: event.target, button: 0, preventDefault: function () {}});
        }
    }

    /* --- the chime ------------------------------------------------------------------------- */

    var MUTE_KEY = "gridwall.mute";

    function muted() {
        try { return window.localStorage.getItem(MUTE_KEY) === "1"; } catch (e) { return false; }
    }

    var audio = null;

    /* Two short tones made in the browser (WebAudio): no sound file to fetch. */
    function chime() {
        if (muted()) { return false; }
        try {
            var Ctx = window.AudioContext || window.webkitAudioContext;
            if (!Ctx) { return false; }
            audio = audio || new Ctx();
            if (audio.state === "suspended") { audio.resume(); }
            [[880, 0], [660, 0.22], [880, 0.44]].forEach(function (tone) {
                var osc = audio.createOscillator();
                var gain = audio.createGain();
                var start = audio.currentTime + tone[1];
                osc.type = "sine";
                osc.frequency.value = tone[0];
                gain.gain.setValueAtTime(0.0001, start);
                gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
                gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
                osc.connect(gain).connect(audio.destination);
                osc.start(start);
                osc.stop(start + 0.21);
            });
            gw.chimes = (gw.chimes || 0) + 1;
            return true;
        } catch (e) {
            return false;
        }
    }
    gw.chime = chime;

    var seenAlerts = {view: null, ids: {}};

    /* --- the trend chart ------------------------------------------------------------------- */

    function rem() {
        return parseFloat(window.getComputedStyle(document.documentElement).fontSize) || 16;
    }

    function trendFigure(data) {
        var r = rem();
        var hours = [];
        for (var h = 0; h < 24; h++) { hours.push(h); }
        var base = data.baseline || {};
        var upTo = data.hour + 1;  // today up to T (now, or the moment of a past view)
        var newToday = (data.today && data.today["new"] || []).slice(0, upTo);
        var closedToday = (data.today && data.today.closed || []).slice(0, upTo);
        var traces = [];
        if (base.days) {
            traces.push({x: hours, y: base["new"].min, type: "scatter", mode: "lines", line: {width: 0},
                         hoverinfo: "skip", showlegend: false});
            traces.push({x: hours, y: base["new"].max, type: "scatter", mode: "lines", line: {width: 0},
                         fill: "tonexty", fillcolor: "rgba(79,179,255,0.20)", name: "近四周同日区间"});
            traces.push({x: hours, y: base["new"].mean, type: "scatter", mode: "lines",
                         line: {color: "#8fd3ff", width: 0.14 * r, dash: "dash"}, name: "新增均值"});
            traces.push({x: hours, y: base.closed.mean, type: "scatter", mode: "lines",
                         line: {color: "#6ee7b7", width: 0.12 * r, dash: "dot"}, name: "结案均值"});
        }
        traces.push({x: hours.slice(0, upTo), y: newToday, type: "bar", name: "今日新增",
                     marker: {color: "rgba(79,179,255,0.85)"}});
        traces.push({x: hours.slice(0, upTo), y: closedToday, type: "scatter", mode: "lines+markers",
                     line: {color: "#34d399", width: 0.16 * r}, marker: {size: 0.4 * r}, name: "今日结案"});
        var top = Math.max.apply(null, [0].concat(newToday, closedToday, base.days ? base["new"].max : []));
        var axis = {color: "#8ea7cc", gridcolor: "rgba(142,167,204,0.14)", zeroline: false,
                    tickfont: {size: 0.85 * r}, fixedrange: true};
        return {
            data: traces,
            layout: {
                paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
                margin: {l: 2.2 * r, r: 0.6 * r, t: 0.4 * r, b: 1.6 * r},
                font: {family: "Microsoft YaHei, PingFang SC, Noto Sans CJK SC, sans-serif", color: "#c9d8f0",
                       size: 0.85 * r},
                bargap: 0.25, showlegend: false,
                xaxis: Object.assign({}, axis, {tickvals: [0, 3, 6, 9, 12, 15, 18, 21],
                                                ticktext: ["0时", "3", "6", "9", "12", "15", "18", "21"],
                                                range: [-0.6, 23.6]}),
                yaxis: Object.assign({}, axis, top < 4 ? {range: [0, 4], dtick: 1} : {rangemode: "tozero", nticks: 4})
            }
        };
    }

    /* --- clientside callbacks -------------------------------------------------------------- */

    function params(search) { return new URLSearchParams(search || ""); }

    var noUpdate = function () { return window.dash_clientside.no_update; };

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        gridwall: {
            clock: function (cfg) {
                cfg = cfg || {};
                var tz = gw.clockTz = cfg.tz || "Asia/Shanghai";
                gw.frozenAt = cfg.at ? Date.parse(cfg.at) : null;
                var f = formatIn(new Date(now()), tz);
                return [
                    {type: "Span", namespace: "dash_html_components", props: {children: f.date, className: "clock-date"}},
                    {type: "Span", namespace: "dash_html_components", props: {children: f.time, className: "clock-time"}}
                ];
            },
            kiosk: function (search) {
                var kiosk = params(search).get("kiosk") === "1";
                document.documentElement.classList.toggle("kiosk", kiosk);
                return [kiosk ? "wall wall--kiosk" : "wall", kiosk];
            },
            rotateConfig: function (search) {
                var seconds = parseInt(params(search).get("rotate"), 10);
                if (!(seconds > 0)) { return [60000, true]; }
                return [Math.max(5, seconds) * 1000, false];
            },
            rotateStep: function (_n, search, rotation) {
                var p = params(search);
                if (!p.get("rotate") || !rotation || !rotation.regions || !rotation.regions.length) { return noUpdate(); }
                var list = rotation.regions;
                var i = list.indexOf(p.get("region"));
                p.set("region", list[(i + 1) % list.length]);
                return "?" + p.toString();
            },
            mapClick: function (feature, search) {
                var code = feature && feature.properties && feature.properties.code;
                var p = params(search);
                if (!code || code === p.get("region") || !/^[0-9]{6,15}$/.test(code)) { return noUpdate(); }
                p.set("region", code);
                p["delete"]("rotate");
                return "?" + p.toString();
            },
            mute: function (n) {
                var m = muted();
                if (n) {
                    m = !m;
                    try { window.localStorage.setItem(MUTE_KEY, m ? "1" : "0"); } catch (e) { /* private mode */ }
                    if (!m) { chime(); }  // unmuting plays the chime once, and unlocks audio
                }
                return [m ? "提示音 关" : "提示音 开", "mute-toggle control" + (m ? " is-muted" : "")];
            },
            chime: function (info) {
                if (!info || !info.critical) { return noUpdate(); }
                var fresh = false;
                if (seenAlerts.view !== info.view) {
                    seenAlerts = {view: info.view, ids: {}};  // a new view: what it shows is not news
                    info.critical.forEach(function (id) { seenAlerts.ids[id] = true; });
                } else {
                    info.critical.forEach(function (id) {
                        if (!seenAlerts.ids[id]) { fresh = true; seenAlerts.ids[id] = true; }
                    });
                }
                if (fresh) { chime(); }
                return noUpdate();
            },
            /* Each tile's ▲/▼ against yesterday. The tiles and what a rise means come from the
             * tile catalogue (the tile-catalogue store, layouts/tile_catalogue.py), in the order of
             * this callback's outputs and value inputs (callbacks/nav.py). */
            deltas: function (catalogue, yesterday) {
                var values = Array.prototype.slice.call(arguments, 2);
                var rules = (catalogue && catalogue.deltas) || [];
                var out = [];
                for (var i = 0; i < rules.length; i++) {
                    var id = rules[i].id;
                    var before = yesterday && yesterday.figures ? yesterday.figures[id] : undefined;
                    var value = parseInt(values[i], 10);
                    if (before === undefined || isNaN(value)) {
                        out.push("", "tile-delta");
                        continue;
                    }
                    var diff = value - before;
                    var tone = rules[i].tone || "neutral";
                    var cls = "tile-delta";
                    if (diff === 0) { cls += " tile-delta--flat"; }
                    else if (tone === "neutral") { cls += " tile-delta--neutral"; }
                    else { cls += ((diff > 0) === (tone === "bad")) ? " tile-delta--worse" : " tile-delta--better"; }
                    out.push(diff > 0 ? "▲" + diff : (diff < 0 ? "▼" + (-diff) : "持平"), cls);
                }
                return out;
            },
            trend: function (data) {
                if (!data) { return noUpdate(); }
                return trendFigure(data);
            }
        }
    });

    /* --- start ------------------------------------------------------------------------------ */

    var TICKING = "[data-due], [data-since], #clock, #freshness";

    function start() {
        document.addEventListener("click", onClick, true);
        document.addEventListener("keydown", onKey);
        window.setInterval(tick, 1000);
        new MutationObserver(function (records) {
            // The timers' own text changes (every second) move nothing: no refit for them.
            for (var i = 0; i < records.length; i++) {
                var target = records[i].target;
                var el = target.nodeType === 1 ? target : target.parentElement;
                if (!el || !el.closest(TICKING)) { tick(); scheduleFit(); return; }
            }
        }).observe(document.body, {childList: true, subtree: true});
        window.addEventListener("resize", scheduleFit);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
}());
