/* gridwall wall: map styling/labels for dash-leaflet and the clientside clock.
 * Loaded by Dash from assets/ before the renderer starts. No network access. */
(function () {
    "use strict";

    function classIndex(value, breaks) {
        for (var i = 0; i < breaks.length; i++) {
            if (value <= breaks[i]) { return i; }
        }
        return breaks.length;
    }

    function regionFigures(feature, context) {
        var hideout = (context && context.hideout) || {};
        var code = feature && feature.properties ? feature.properties.code : null;
        return {hideout: hideout, code: code, figures: (hideout.figures || {})[code] || null};
    }

    var map = {
        /* Fill colour by open-case class; streets without figures stay neutral. */
        style: function (feature, context) {
            var r = regionFigures(feature, context);
            var palette = r.hideout.palette || ["#1d4f7a"];
            var fill = "#24344d";
            if (r.figures) {
                var idx = classIndex(r.figures.open || 0, r.hideout.breaks || []);
                fill = palette[Math.min(idx, palette.length - 1)];
            }
            var overdue = r.figures && r.figures.overdue > 0;
            return {
                color: overdue ? "#ff8a8a" : "#9fc6ff",
                weight: overdue ? 2.2 : 1.4,
                opacity: 0.9,
                fillColor: fill,
                fillOpacity: 0.62
            };
        },
        /* A permanent label at the region's centre. The label HTML is escaped on the server. */
        label: function (feature, layer, context) {
            var r = regionFigures(feature, context);
            var labels = r.hideout.labels || {};
            var content = labels[r.code];
            if (content) {
                layer.bindTooltip(content, {
                    permanent: true, direction: "center", className: "region-label", opacity: 1
                });
            }
        }
    };

    function pad(n) { return (n < 10 ? "0" : "") + n; }

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
            date: parts.year + "-" + parts.month + "-" + parts.day +
                (wd === undefined ? "" : " 星期" + WEEKDAYS[wd]),
            time: hour + ":" + parts.minute + ":" + parts.second
        };
    }

    window.gridwall = Object.assign({}, window.gridwall, {map: map});

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        gridwall: {
            clock: function (_n, cfg) {
                cfg = cfg || {};
                var tz = cfg.tz || "Asia/Shanghai";
                var date = cfg.at ? new Date(cfg.at) : new Date();
                var f = formatIn(date, tz);
                return [
                    {type: "Span", namespace: "dash_html_components", props: {children: f.date, className: "clock-date"}},
                    {type: "Span", namespace: "dash_html_components", props: {children: f.time, className: "clock-time"}}
                ];
            }
        }
    });
}());
