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

    var SEVERITIES = {critical: true, warning: true, info: true};  // .am--<severity> in assets/wall.css
    // A case point's colour is the CSS variable its legend entry (.map-key .key-dot--<s>) uses.
    var CASE_VAR = {o: "--bad", w: "--warn", n: "--case"};
    var caseColours = {};

    function caseColour(s) {
        var name = CASE_VAR[s] || CASE_VAR.n;
        if (!caseColours[name]) {
            caseColours[name] = window.getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#4fd1ff";
        }
        return caseColours[name];
    }

    var map = {
        /* Fill by the chosen figure's class; a region without a value stays neutral. */
        style: function (feature, context) {
            var r = regionOf(feature, context);
            var palette = r.hideout.palette || ["#1c5794"];
            var fill = r.hideout.noData || "#3a3f47";
            if (r.value !== null && r.value !== undefined) {
                var idx = classIndex(r.value, r.hideout.breaks || []);
                fill = palette[Math.min(idx, palette.length - 1)];
            }
            var overdue = (r.hideout.overdue || {})[r.code] > 0;
            /* A county whose feed stopped (roll-up): its last data, greyed and dashed. */
            var stale = !!(r.hideout.stale || {})[r.code];
            return {
                color: stale ? "#c8c8c8" : (overdue ? "#ff8a8a" : "#9fc6ff"),
                weight: overdue ? 2.2 : 1.4,
                dashArray: stale ? "6 4" : null,
                opacity: 0.9,
                fillColor: fill,
                fillOpacity: stale ? 0.25 : (r.hideout.fillOpacity || 0.55)
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
                // declutter() changes a label's width; the tooltip must be centred again on its region
                layer.on("tooltipopen", function (e) {
                    var el = e.tooltip && e.tooltip.getElement ? e.tooltip.getElement() : null;
                    if (el) { el._gwTip = e.tooltip; }
                });
            }
        },
        casePoint: function (feature, latlng) {
            var p = feature.properties || {};
            var colour = caseColour(p.s);
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
            var sev = SEVERITIES[p.sev] ? p.sev : "info";
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

    /* An SLA timer (layouts/sla.py: sla_span): seconds only under an hour, the days alone from three
     * days overdue on: "剩 12分05秒", "剩 1时23分", "超2天5时", "超19天". */
    function slaSpan(seconds, overdue) {
        var s = Math.max(0, Math.floor(seconds));
        var days = Math.floor(s / 86400), hours = Math.floor(s % 86400 / 3600);
        var minutes = Math.floor(s % 3600 / 60), text;
        if (overdue && days >= 3) { text = days + "天"; }
        else if (days) { text = days + "天" + hours + "时"; }
        else if (hours) { text = hours + "时" + pad(minutes) + "分"; }
        else { text = minutes + "分" + pad(s % 60) + "秒"; }
        return (overdue ? "超" : "剩 ") + text;
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
            var left = (up ? t - due : due - t) / 1000;
            var text = el.getAttribute("data-fmt") === "sla" ? slaSpan(left, up) : span(left);
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

    /* Long lists that page (轮播 "2/7") instead of being cut: every entry is seen in turn. */
    var PAGED = "#region-table .rt-body, #case-stream";
    var PAGE_MS = 8000;
    gw.pageMs = PAGE_MS;

    /* Show page list._gwPage of a paged list: as many whole entries as fit, the list says which page. */
    function pageList(list, kids, bottom) {
        var page = null;
        if (firstOver(kids, bottom) < kids.length) {  // all shown: the first page sets the page size
            var limit = bottom - MORE_NOTE_REM * rem();  // room for the page note
            var size = Math.max(1, firstOver(kids, limit));
            var k;
            var pages = Math.ceil(kids.length / size);
            var current = (list._gwPage || 0) % pages;
            list._gwPage = current;
            for (k = 0; k < kids.length; k++) {
                var off = k < current * size || k >= (current + 1) * size;
                if (kids[k].hidden !== off) { kids[k].hidden = off; }
            }
            for (k = current * size; k < kids.length; k++) {  // an entry taller than the first page's: cut
                if (!kids[k].hidden && kids[k].getBoundingClientRect().bottom > limit) {
                    kids[k].hidden = true;
                }
            }
            page = (current + 1) + "/" + pages;
        } else {
            list._gwPage = 0;
        }
        if (list.getAttribute("data-page") !== page) {
            if (page === null) { list.removeAttribute("data-page"); } else { list.setAttribute("data-page", page); }
        }
        if (list.hasAttribute("data-more")) { list.removeAttribute("data-more"); }
    }

    function turnPages() {
        var lists = document.querySelectorAll(PAGED);
        for (var i = 0; i < lists.length; i++) {
            if (lists[i].hasAttribute("data-page")) { lists[i]._gwPage = (lists[i]._gwPage || 0) + 1; }
        }
        scheduleFit();
    }
    gw.turnPages = turnPages;

    /* A list's box can change with no change to the DOM (a neighbour's late layout, a scrollbar, a
     * wrapped head line): the fit is kept to the box it was made for, whatever moved it. */
    var listBoxes = window.ResizeObserver ? new window.ResizeObserver(function () { scheduleFit(); }) : null;
    var watched = [];

    function watchBoxes(lists) {
        if (!listBoxes) { return; }
        watched = watched.filter(function (list) {  // a list a render replaced: let it go (the wall runs for weeks)
            if (!list.isConnected) { listBoxes.unobserve(list); }
            return list.isConnected;
        });
        for (var i = 0; i < lists.length; i++) {
            if (watched.indexOf(lists[i]) < 0) { watched.push(lists[i]); listBoxes.observe(lists[i]); }
        }
    }

    /* Hide the entries of each .fit-list that do not fit whole; the list says how many it hides. */
    function fitLists() {
        var lists = document.querySelectorAll(".fit-list");
        watchBoxes(lists);
        for (var i = 0; i < lists.length; i++) {
            var list = lists[i];
            var kids = list.children;
            if (kids.length === 1 && kids[0].classList.contains("empty")) {
                if (list.hasAttribute("data-more")) { list.removeAttribute("data-more"); }
                continue;
            }
            if (list.matches(PAGED)) {
                for (var u = 0; u < kids.length; u++) { if (kids[u].hidden) { kids[u].hidden = false; } }
                pageList(list, kids, list.getBoundingClientRect().bottom + 0.5);
                continue;
            }
            for (var k = 0; k < kids.length; k++) {
                if (kids[k].hidden) { kids[k].hidden = false; }
            }
            var bottom = list.getBoundingClientRect().bottom + 0.5;
            var cut = firstOver(kids, bottom);
            // Leave room for the "另有 N 项" note below the last whole entry (unless the list's head holds it).
            if (cut < kids.length && !list.hasAttribute("data-note-in-head")) {
                cut = firstOver(kids, bottom - MORE_NOTE_REM * rem());
            }
            // The first entry stays, cut at the list's edge if it must: the most pressing case half
            // shown says more than "另有 N 项" under an empty list (a long place name wraps to 3 lines).
            cut = Math.max(cut, Math.min(1, kids.length));
            var hidden = 0;
            for (var n = cut; n < kids.length; n++) {
                kids[n].hidden = true;
                hidden++;
            }
            var left = leftOut(list, kids, hidden);
            var more = left ? String(left) : null;
            if (list.getAttribute("data-more") !== more) {
                if (more === null) { list.removeAttribute("data-more"); } else { list.setAttribute("data-more", more); }
            }
        }
    }

    /* How many entries a list leaves out. With data-total (its true total: the server sends only the
     * first entries), total - entries shown; else the entries hidden here. Lines marked .fit-aside
     * (a heading, "已确认 N 条") are not entries. */
    function leftOut(list, kids, hidden) {
        var total = parseInt(list.getAttribute("data-total"), 10);
        if (isNaN(total)) { return hidden; }
        var shown = 0;
        for (var i = 0; i < kids.length; i++) {
            if (!kids[i].hidden && !kids[i].classList.contains("fit-aside")) { shown++; }
        }
        return Math.max(0, total - shown);
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

    /* Leaflet places a centred tooltip by the width it had when placed: after a label changes width
     * (compact or whole again), place it again, or a long name's figure would sit where the name began.
     * Setting a tooltip's own point again is Leaflet's public way to have it placed anew. */
    function recentre(el) {
        var tip = el._gwTip;
        if (tip && tip.isOpen && tip.isOpen() && tip.getLatLng()) { tip.setLatLng(tip.getLatLng()); }
    }

    /* Map labels that collide: the more pressing region keeps its whole label, the next one shows
     * its figure only, and a label that still collides is hidden (the table lists every region). */
    function declutter() {
        var labels = Array.prototype.slice.call(document.querySelectorAll("#map .leaflet-tooltip.region-label"));
        if (!labels.length) { return; }
        labels.forEach(function (el) {
            if (el.classList.contains("rl-compact") || el.classList.contains("rl-hidden")) {
                el.classList.remove("rl-compact", "rl-hidden");
                recentre(el);
            }
        });
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
            recentre(el);
            r = el.getBoundingClientRect();
            if (!overlaps(r, kept)) { kept.push(r); return; }
            el.classList.add("rl-hidden");
        });
    }

    /* Each 7-day rate against its target (layouts/tiles.py: data-target, in percent): 达标 (good) at or
     * above it, 接近 (warn) within data-margin points below, 未达标 (bad) further below. */
    function rateTargets() {
        var targets = document.querySelectorAll(".rate-target[data-target]");
        for (var i = 0; i < targets.length; i++) {
            var el = targets[i];
            var target = parseFloat(el.getAttribute("data-target"));
            var margin = parseFloat(el.getAttribute("data-margin")) || 0;
            var valueEl = el.parentNode.querySelector(".rate-value");
            var value = valueEl ? parseFloat(valueEl.textContent) : NaN;
            var state = isNaN(value) ? "" : (value >= target ? "good" : (value >= target - margin ? "warn" : "bad"));
            var word = {good: "达标", warn: "接近", bad: "未达标"}[state];
            // The verdict first: a narrow tile cuts the end of the line ("未达标·目标…", not "目标95%·…").
            var text = (word ? word + "·" : "") + "目标" + el.getAttribute("data-target") + "%";
            var cls = "rate-target" + (state ? " rate-target--" + state : "");
            if (el.textContent !== text) { el.textContent = text; }
            if (el.className !== cls) { el.className = cls; }
            if (valueEl) {
                var vcls = "rate-value" + (state ? " rate-value--" + state : "");
                if (valueEl.className !== vcls) { valueEl.className = vcls; }
            }
        }
    }

    var fitPending = false;

    function scheduleFit() {
        if (fitPending) { return; }
        fitPending = true;
        window.requestAnimationFrame(function () { fitPending = false; rateTargets(); fitFigures(); fitLists(); declutter(); });
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
        var text = params.toString();  // ?rotate= stays: a person's click pauses the rotation (pauseRotation)
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
            if (new URLSearchParams(window.location.search).get("rotate")) {  // the breadcrumb's hrefs were made before
                params.set("rotate", new URLSearchParams(window.location.search).get("rotate"));
            }
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

    /* --- rotation (?rotate=SECONDS): the streets, then the county; a person pauses it ------- */

    gw.rotatePauseMs = 120000;  // after a click or a key, the rotation waits this long before its next step
    gw.rotatePausedUntil = 0;

    function pauseRotation() {
        if (!new URLSearchParams(window.location.search).get("rotate")) { return; }
        gw.rotatePausedUntil = Date.now() + gw.rotatePauseMs;
        var caption = document.getElementById("scope-caption");
        if (caption) { caption.setAttribute("data-paused", "true"); }
    }

    /* The stops of a rotation: the root's streets, then the root itself (null: no ?region=). */
    function rotationStops(rotation) {
        return rotation && rotation.regions && rotation.regions.length ? rotation.regions.concat([null]) : [];
    }

    function crumbName(crumbs) {
        var list = Array.isArray(crumbs) ? crumbs : (crumbs ? [crumbs] : []);
        var first = null, current = null;
        list.forEach(function (c) {
            var p = c && c.props;
            if (!p || !p["data-region"]) { return; }
            if (first === null) { first = p; }
            if (String(p.className || "").indexOf("crumb--current") >= 0) { current = p; }
        });
        return {first: first, current: current};
    }

    /* --- the chime ------------------------------------------------------------------------- */

    var MUTE_KEY = "gridwall.mute";

    function muted() {
        try { return window.localStorage.getItem(MUTE_KEY) === "1"; } catch (e) { return false; }
    }

    /* Browsers keep a page's audio suspended until a person has clicked or typed on it (the
     * autoplay policy); a kiosk browser started with --autoplay-policy=no-user-gesture-required
     * (README: Kiosk walls) never does. The state is read off a new AudioContext: it starts
     * "running" where sound is allowed and "suspended" where it is not (resume() outside a gesture
     * would only print a warning). While blocked, #chime-state asks for the click (kiosk mode too),
     * and a new critical alert flashes the header instead of a chime nobody hears. */
    var audio = null;
    var FLASH_MS = 7000;  // the header-flash animation's length (assets/live.css), and a little

    function audioContext() {
        if (audio) { return audio; }
        var Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) { return null; }
        try { audio = new Ctx(); } catch (e) { return null; }
        if (audio.addEventListener) { audio.addEventListener("statechange", drawChimeState); }
        return audio;
    }

    /* on, off (muted, or a browser without WebAudio) or blocked (interfaces.md #chime-state). */
    function chimeState() {
        if (muted()) { return "off"; }
        var ctx = audioContext();
        if (!ctx) { return "off"; }
        return ctx.state === "running" ? "on" : "blocked";
    }
    gw.chimeState = chimeState;

    function drawChimeState() {
        var state = chimeState();
        document.documentElement.classList.toggle("chime-blocked", state === "blocked");
        var el = document.getElementById("chime-state");
        if (el && el.getAttribute("data-state") !== state) { el.setAttribute("data-state", state); }
    }

    /* Any click or key on the page lets the sound start: resume the context in that gesture. */
    function enableSound(event) {
        var ctx = audioContext();
        if (!ctx || ctx.state === "running" || ctx.state === "closed") { return; }
        var asked = event && event.target && event.target.closest && event.target.closest("#chime-state");
        var resumed = ctx.resume();
        if (resumed && resumed.then) {
            resumed.then(function () {
                drawChimeState();
                if (asked) { tones(ctx); }  // the button's click: say that the sound works
            }, drawChimeState);
        }
    }

    ["pointerdown", "keydown", "touchend", "click"].forEach(function (type) {
        document.addEventListener(type, enableSound, true);
    });
    window.setInterval(drawChimeState, 1000);

    function flashHeader() {
        var header = document.querySelector(".wall-header");
        if (!header) { return; }
        header.classList.remove("header-flash");
        void header.offsetWidth;  // restart the animation
        header.classList.add("header-flash");
        clearTimeout(gw.flashTimer);
        gw.flashTimer = setTimeout(function () { header.classList.remove("header-flash"); }, FLASH_MS);
    }

    /* Two short tones made in the browser (WebAudio): no sound file to fetch. */
    function tones(ctx) {
        [[880, 0], [660, 0.22], [880, 0.44]].forEach(function (tone) {
            var osc = ctx.createOscillator();
            var gain = ctx.createGain();
            var start = ctx.currentTime + tone[1];
            osc.type = "sine";
            osc.frequency.value = tone[0];
            gain.gain.setValueAtTime(0.0001, start);
            gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
            gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
            osc.connect(gain).connect(ctx.destination);
            osc.start(start);
            osc.stop(start + 0.21);
        });
        gw.sounds = (gw.sounds || 0) + 1;
    }

    /* The alert signal: the chime, or while the browser holds sound back the header's flash.
     * gw.chimes counts signals given, gw.sounds those heard, gw.flashes those seen only. True when
     * it sounded. */
    function chime() {
        if (muted()) { return false; }
        var ctx = audioContext();
        var sounded = false;
        // Suspended after a click on the page (that click's resume() still on its way) it may start.
        var clicked = !!(window.navigator.userActivation && window.navigator.userActivation.hasBeenActive);
        if (ctx && (ctx.state === "running" || (ctx.state === "suspended" && clicked))) {
            try {
                if (ctx.state !== "running") { ctx.resume(); }
                tones(ctx);
                sounded = true;
            } catch (e) { sounded = false; }
        }
        if (!sounded) {
            flashHeader();
            gw.flashes = (gw.flashes || 0) + 1;
        }
        gw.chimes = (gw.chimes || 0) + 1;
        drawChimeState();
        return sounded;
    }
    gw.chime = chime;

    /* A new critical alert chimes once: a critical entry that #alerts shows and did not show before
     * in the same view (data-view, callbacks/panels.py update_alerts). Decided from the list as
     * drawn, not from a store's callback: the renderer holds a clientside callback back while any
     * request upstream of its input is open (the tick is held open for up to a second, and asked
     * again at once), so such a callback could first run after an alert had come in, and take it
     * for what the page already showed. The first list of a view is not news; an id stays seen
     * for the view (an acknowledgement taken back does not chime again). */
    var seenAlerts = {view: null, ids: {}};

    function noticeAlerts() {
        var box = document.getElementById("alerts");
        var view = box && box.getAttribute("data-view");
        if (!view) { return; }  // nothing drawn yet
        var ids = Array.prototype.map.call(
            box.querySelectorAll('[data-alert-id][data-severity="critical"][data-status="new"]'),
            function (el) { return el.getAttribute("data-alert-id"); });
        var fresh = false;
        if (seenAlerts.view !== view) {
            seenAlerts = {view: view, ids: {}};  // a new view: what it shows is not news
            ids.forEach(function (id) { seenAlerts.ids[id] = true; });
        } else {
            ids.forEach(function (id) {
                if (!seenAlerts.ids[id]) { fresh = true; seenAlerts.ids[id] = true; }
            });
        }
        if (fresh) { chime(); }
    }

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
        // The hour under way (live only) is partial: a lighter, outlined bar and a dotted last segment.
        var partial = data.live !== false ? data.hour : -1;
        var barColours = [], barLines = [];
        for (var b = 0; b < newToday.length; b++) {
            barColours.push(b === partial ? "rgba(79,179,255,0.28)" : "rgba(79,179,255,0.85)");
            barLines.push(b === partial ? "rgba(143,211,255,0.95)" : "rgba(0,0,0,0)");
        }
        traces.push({x: hours.slice(0, upTo), y: newToday, type: "bar", name: "今日新增",
                     marker: {color: barColours, line: {color: barLines, width: 0.1 * r}}});
        var whole = partial >= 0 ? partial : upTo;  // complete hours: a solid line
        traces.push({x: hours.slice(0, whole), y: closedToday.slice(0, whole), type: "scatter", mode: "lines+markers",
                     line: {color: "#34d399", width: 0.16 * r}, marker: {size: 0.4 * r}, name: "今日结案"});
        if (partial >= 0 && closedToday.length > partial) {
            traces.push({x: hours.slice(Math.max(0, partial - 1), partial + 1),
                         y: closedToday.slice(Math.max(0, partial - 1), partial + 1), type: "scatter",
                         mode: "lines+markers", name: "今日结案（本小时未完）",
                         line: {color: "#34d399", width: 0.12 * r, dash: "dot"},
                         marker: {size: 0.4 * r, symbol: ["circle", "circle-open"].slice(partial ? 0 : 1)}});
        }
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

    /* --- scale and seams --------------------------------------------------------------------- */

    /* ?scale=X (0.5-3) multiplies the root font size, so all type and spacing (assets/wall.css sizes
     * everything in rem); ?seams=3x1 or 2x2 lays the panels out so that none straddles a seam of a
     * spliced wall. The deployment's defaults (GRIDWALL_SCALE, GRIDWALL_SEAMS) arrive on #wall's
     * data-scale and data-seams; a value out of range or not understood is ignored. */
    var SEAMS = {"1x1": [1, 1], "3x1": [3, 1], "2x2": [2, 2]};  // dashboard/core/config.py SEAM_LAYOUTS

    function scaleOf(text) {
        if (!/^[0-9]+(\.[0-9]+)?$/.test(text || "")) { return null; }
        var x = parseFloat(text);
        return x >= 0.5 && x <= 3 ? x : null;
    }

    function seamsOf(text) {
        text = (text || "").toLowerCase();
        return SEAMS.hasOwnProperty(text) ? text : null;
    }

    function applyDisplay(search) {
        var p = params(search === undefined ? window.location.search : search);
        var wall = document.getElementById("wall");
        var defaults = wall ? wall.dataset : {};
        var scale = String(scaleOf(p.get("scale")) || scaleOf(defaults.scale) || 1);
        var seams = seamsOf(p.get("seams")) || seamsOf(defaults.seams) || "1x1";
        var root = document.documentElement;
        var shown = root.getAttribute("data-seams") || "1x1";
        if (root.style.getPropertyValue("--scale") === scale && shown === seams) { return; }
        root.style.setProperty("--scale", scale);
        root.style.setProperty("--seam-cols", SEAMS[seams][0]);
        root.style.setProperty("--seam-rows", SEAMS[seams][1]);
        if (seams === "1x1") { root.removeAttribute("data-seams"); } else { root.setAttribute("data-seams", seams); }
        // The map (Leaflet) and the trend size themselves on a window resize; the lists refit on it.
        // Not from inside the clientside callback that called this: after it, in a task of its own.
        window.setTimeout(function () { window.dispatchEvent(new Event("resize")); }, 0);
    }
    gw.applyDisplay = applyDisplay;

    /* --- clientside callbacks -------------------------------------------------------------- */

    function params(search) { return new URLSearchParams(search || ""); }

    var noUpdate = function () { return window.dash_clientside.no_update; };

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        gridwall: {
            /* 确认 in the alerts list: open that alert's evidence panel (?alert=ID), where the duty
             * officer judges it (属实 / 误报 / 已知) and so acknowledges it. */
            openAlert: function (clicks, search) {
                var ctx = window.dash_clientside.callback_context;
                var trig = ctx && ctx.triggered && ctx.triggered[0];
                if (!trig || !trig.value) { return noUpdate(); }
                var id;
                try { id = JSON.parse(trig.prop_id.split(".")[0]).id; } catch (e) { return noUpdate(); }
                var p = params(search);
                p.set("alert", id);
                return "?" + p.toString();
            },
            /* 关闭 on the evidence panel of ?alert=ID: the same URL without it. */
            closeAlert: function (_n, search) {
                var p = params(search);
                if (!p.has("alert")) { return noUpdate(); }
                p["delete"]("alert");
                p["delete"]("view");
                var rest = p.toString();
                return rest ? "?" + rest : "";
            },
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
                applyDisplay(search);  // after the layout is drawn: #wall holds the defaults
                return [kiosk ? "wall wall--kiosk" : "wall", kiosk];
            },
            rotateConfig: function (search) {
                var seconds = parseInt(params(search).get("rotate"), 10);
                if (!(seconds > 0)) { return [60000, true]; }
                return [Math.max(5, seconds) * 1000, false];
            },
            rotateStep: function (_n, search, rotation) {
                var p = params(search);
                var stops = rotationStops(rotation);
                if (!p.get("rotate") || !stops.length || Date.now() < gw.rotatePausedUntil) { return noUpdate(); }
                var caption = document.getElementById("scope-caption");
                if (caption) { caption.removeAttribute("data-paused"); }
                var i = stops.indexOf(p.get("region") || null);  // a region off the list: start again
                var next = stops[(i + 1) % stops.length];
                if (next) { p.set("region", next); } else { p["delete"]("region"); }
                return "?" + p.toString();
            },
            /* #scope-caption: "本页为 某街道 数据" when the figures are not the user's whole region, and
             * "轮播 3/9 · 某街道" while rotating (the streets, then the county). */
            whereCaption: function (crumbs, search, rotation) {
                var p = params(search);
                var names = crumbName(crumbs);
                var here = names.current || names.first;
                var drilled = here && names.first && here["data-region"] !== names.first["data-region"];
                var name = here ? String(here.children) : "";
                var stops = rotationStops(rotation);
                if (p.get("rotate") && stops.length) {
                    var i = stops.indexOf(p.get("region") || null);
                    var where = i < 0 ? "轮播" : "轮播 " + (i + 1) + "/" + stops.length;
                    return [where + (name ? " · " + name : ""), "scope-caption scope-caption--rotate"];
                }
                if (drilled) { return ["本页为 " + name + " 数据", "scope-caption scope-caption--drilled"]; }
                return ["", "scope-caption"];
            },
            mapClick: function (feature, search) {
                var code = feature && feature.properties && feature.properties.code;
                var p = params(search);
                if (!code || code === p.get("region") || !/^[0-9]{6,15}$/.test(code)) { return noUpdate(); }
                p.set("region", code);  // ?rotate= stays: the click paused it (pauseRotation)
                return "?" + p.toString();
            },
            mute: function (n) {
                var m = muted();
                if (n) {
                    m = !m;
                    try { window.localStorage.setItem(MUTE_KEY, m ? "1" : "0"); } catch (e) { /* private mode */ }
                    if (!m) { chime(); }  // unmuting plays the chime once (the click let the sound start)
                }
                drawChimeState();
                return [m ? "提示音 关" : "提示音 开", "mute-toggle control" + (m ? " is-muted" : "")];
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
            /* The same against last week's figures (yesterday.week), into the tiles' "-week" elements. */
            weekDeltas: function (catalogue, yesterday) {
                var args = Array.prototype.slice.call(arguments);
                args[1] = yesterday && yesterday.week ? {figures: yesterday.week} : null;
                var out = window.dash_clientside.gridwall.deltas.apply(null, args);
                for (var i = 1; i < out.length; i += 2) { out[i] += " tile-delta--week"; }  // (text, class) pairs
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
        applyDisplay();  // before the first paint where the URL says
        document.addEventListener("click", onClick, true);
        document.addEventListener("keydown", onKey);
        document.addEventListener("pointerdown", pauseRotation, true);
        document.addEventListener("keydown", pauseRotation, true);
        window.setInterval(tick, 1000);
        window.setInterval(turnPages, gw.pageMs);
        new MutationObserver(function (records) {
            // The timers' own text changes (every second) move nothing: no refit for them.
            var moved = false, alerts = false;
            for (var i = 0; i < records.length; i++) {
                var target = records[i].target;
                var el = target.nodeType === 1 ? target : target.parentElement;
                if (!el || !el.closest(TICKING)) { moved = true; }
                if (!alerts && el && el.closest("#alerts")) { alerts = true; }
                if (moved && alerts) { break; }
            }
            if (alerts) { noticeAlerts(); }
            if (moved) { tick(); scheduleFit(); }
        }).observe(document.body, {childList: true, subtree: true,  // a list's true total; the alerts' view
                                   attributes: true, attributeFilter: ["data-total", "data-view"]});
        window.addEventListener("resize", scheduleFit);
        if (document.fonts && document.fonts.addEventListener) {  // a face that arrives late changes every height
            document.fonts.addEventListener("loadingdone", scheduleFit);
        }
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
}());
