/* gridwall pages other than the wall (/review, /ops): their few clientside callbacks. The wall does
 * not load this file, and these pages load none of the wall's scripts (live.js, gridwall.js,
 * dash_adapter.js): see the assets_ignore of each Dash app in dashboard/app.py. */
(function () {
    "use strict";

    var noUpdate = function () { return window.dash_clientside.no_update; };

    /* The query string with ``changes`` applied (a null value removes the parameter); no_update when
     * nothing changed. */
    function withParams(search, changes) {
        var params = new URLSearchParams(search || "");
        Object.keys(changes).forEach(function (key) {
            if (changes[key] === null || changes[key] === undefined || changes[key] === "") {
                params.delete(key);
            } else {
                params.set(key, changes[key]);
            }
        });
        var next = "?" + params.toString();
        return next === (search || "") || (next === "?" && !search) ? noUpdate() : next;
    }

    function presenting(search) {
        var value = new URLSearchParams(search || "").get("present");
        return value === "1" || value === "true";
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        pages: {
            /* The review period picked in the controls, written into the URL (which holds the view):
             * keeps ?region=, ?at= and ?present=, replaces period/date/end. A custom period without
             * an end date is the one day picked. */
            periodSearch: function (clicks, kind, date, end, search) {
                if (!clicks || !kind) { return noUpdate(); }
                var day = date ? String(date).slice(0, 10) : null;
                var last = kind === "custom" ? (end ? String(end).slice(0, 10) : day) : null;
                return withParams(search, {period: kind, date: day, end: last});
            },
            /* The end date is only used by a custom period. */
            endEnabled: function (kind) { return kind !== "custom"; },
            /* 演示模式 on and off: ?present=1 in the URL, so that a link opens the presentation. */
            presentSearch: function (on, off, search) {
                var ctx = window.dash_clientside.callback_context;
                var which = ctx && ctx.triggered && ctx.triggered.length ? ctx.triggered[0].prop_id : "";
                if (which.indexOf("review-present-on") === 0) { return withParams(search, {present: "1"}); }
                if (which.indexOf("review-present-off") === 0) { return withParams(search, {present: null}); }
                return noUpdate();
            },
            presentClass: function (search) {
                return presenting(search) ? "review review--present" : "review";
            }
        }
    });

    /* --- presentation mode (/review?present=1) -------------------------------------------------
     * Each panel after the period is one slide, shown below the period; nothing scrolls. A slide is
     * scaled down (never up) to fit the screen; one too tall to read at MIN_SCALE is shown in screens
     * (屏) instead: its body is cut at a row boundary and stepped through. → PageDown Space go to the
     * next screen or slide, ← PageUp back, Esc leaves. The indexes live here, not in the URL: a
     * drill-down keeps the slide. #review-slides carries data-slide/-slides/-screen/-screens. */
    var MIN_SCALE = 0.75;
    var slide = 0;
    var screen = 0;
    var screens = 1;
    var pending = false;
    var wasPresent = false;

    function presentRoot() { return document.querySelector(".review--present"); }

    function slides(root) {
        var body = root.querySelector(".page-body");
        if (!body) { return []; }
        return Array.prototype.filter.call(body.children, function (el, i) {
            // The first panel (the period) stays on every slide; empty sections are skipped.
            return i > 0 && el.textContent.trim() !== "";
        });
    }

    function reset(el) {
        el.style.transform = "";
        el.style.maxHeight = "";
        var body = el.querySelector(".panel-body");
        if (body) { body.scrollTop = 0; }
    }

    /* Where each screen of ``body`` starts (px from its top): a screen ends before the first row (tr,
     * li) that does not fit whole, and the next one starts at that row. A table's header stays on top
     * of every screen that continues the table (position: sticky, assets/pages.css), so the next
     * screen starts that much earlier: its first row shows just below the header. */
    function screenStarts(body, scale) {
        var height = body.clientHeight, total = body.scrollHeight;
        var origin = body.getBoundingClientRect().top;
        var pad = parseFloat(window.getComputedStyle(body).paddingTop) || 0;  // a sticky header sits below it
        var rows = Array.prototype.map.call(body.querySelectorAll("tr, li"), function (el) {
            var r = el.getBoundingClientRect();
            var table = el.closest("tbody") && el.closest("table");
            var head = table && table.querySelector("thead th");
            var headHeight = head ? head.getBoundingClientRect().height / scale : 0;
            return [(r.top - origin) / scale, (r.bottom - origin) / scale, headHeight];
        });
        var starts = [0];
        while (starts[starts.length - 1] + height < total - 1 && starts.length < 200) {
            var from = starts[starts.length - 1], end = from + height, next = end;
            for (var i = 0; i < rows.length; i++) {
                if (rows[i][1] > end + 0.5 && rows[i][0] > from + 0.5) {
                    var under = rows[i][0] - (rows[i][2] ? pad + rows[i][2] : 0);  // just below the repeated header
                    next = Math.min(next, under > from + 0.5 ? under : rows[i][0]);
                    break;
                }
            }
            starts.push(next);
        }
        return starts;
    }

    function fit() {
        pending = false;
        var root = presentRoot();
        if (!root && !wasPresent) { return; }
        var all = document.querySelectorAll(".page-body > *");
        if (!root) {
            wasPresent = false;
            Array.prototype.forEach.call(all, function (el) {
                el.classList.remove("is-slide");
                reset(el);
            });
            return;
        }
        wasPresent = true;
        var list = slides(root);
        if (!list.length) { return; }
        slide = Math.max(0, Math.min(slide, list.length - 1));
        Array.prototype.forEach.call(all, function (el) {
            el.classList.toggle("is-slide", el === list[slide]);
            if (el !== list[slide]) { reset(el); }
        });
        var current = list[slide];
        var body = current.querySelector(".panel-body");
        reset(current);
        var nav = root.querySelector(".review-slides");
        var navHeight = nav ? nav.getBoundingClientRect().height : 0;
        var room = window.innerHeight - current.getBoundingClientRect().top - navHeight - 12;
        var width = current.parentElement.clientWidth;
        var natural = current.scrollHeight;
        // The panel clips its body: what its body holds may be wider than the panel itself.
        var wide = Math.max(current.scrollWidth, body ? current.clientWidth + body.scrollWidth - body.clientWidth : 0);
        var scale = Math.min(1, room / Math.max(1, natural), width / Math.max(1, wide));
        screens = 1;
        if (scale < MIN_SCALE && body) {
            // Too tall to read scaled: full size (or the width's), cut into screens.
            scale = Math.min(1, width / Math.max(1, wide));
            current.style.maxHeight = (room / scale) + "px";
            var starts = screenStarts(body, 1);
            screens = starts.length;
            screen = Math.max(0, Math.min(screen, screens - 1));
            body.scrollTop = starts[screen];
        } else {
            screen = 0;
        }
        if (scale < 1) { current.style.transform = "scale(" + scale.toFixed(4) + ")"; }
        current.setAttribute("data-scale", scale < 1 ? scale.toFixed(4) : "1");
        if (nav) {
            var state = {"data-slide": slide + 1, "data-slides": list.length, "data-screen": screen + 1,
                         "data-screens": screens};
            Object.keys(state).forEach(function (k) {
                if (nav.getAttribute(k) !== String(state[k])) { nav.setAttribute(k, String(state[k])); }
            });
        }
        var count = root.querySelector("#review-slide-count");
        var text = (slide + 1) + " / " + list.length + (screens > 1 ? "（第" + (screen + 1) + "/" + screens + "屏）" : "");
        if (count && count.textContent !== text) { count.textContent = text; }
    }

    function refit() {
        if (!pending) {
            pending = true;
            window.requestAnimationFrame(fit);
        }
    }

    /* One step forward (+1) or back (-1): the next screen of the slide, else the next slide. */
    function go(step) {
        var root = presentRoot();
        if (!root) { return; }
        var n = slides(root).length;
        if (!n) { return; }
        if (screen + step >= 0 && screen + step < screens) {
            screen += step;
        } else {
            slide = (slide + step + n) % n;
            screen = step > 0 ? 0 : 1e6;  // back: the last screen of the slide before
        }
        fit();
    }

    document.addEventListener("keydown", function (event) {
        if (!presentRoot() || event.altKey || event.ctrlKey || event.metaKey) { return; }
        var key = event.key;
        if (key === "ArrowRight" || key === "PageDown" || key === " ") {
            go(1);
        } else if (key === "ArrowLeft" || key === "PageUp") {
            go(-1);
        } else if (key === "Escape") {
            var off = document.getElementById("review-present-off");
            if (off) { off.click(); }
            return;
        } else {
            return;
        }
        event.preventDefault();
    });

    document.addEventListener("click", function (event) {
        var target = event.target && event.target.closest ? event.target.closest("button") : null;
        if (!target) { return; }
        if (target.id === "review-slide-next") { go(1); }
        if (target.id === "review-slide-prev") { go(-1); }
    });

    window.addEventListener("resize", refit);
    // Dash fills the panels after the first paint and again on every change of the URL.
    // (Classes too: the presentation mode is a class of #review; fit sets is-slide only when it changes.)
    new MutationObserver(refit).observe(document.documentElement, {childList: true, subtree: true, characterData: true,
                                                                   attributes: true, attributeFilter: ["class"]});
    window.gridwallPages = {fit: fit, go: go};
}());
