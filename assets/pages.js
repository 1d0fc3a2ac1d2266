/* gridwall pages other than the wall (/review, /ops): their few clientside callbacks. The wall does
 * not load this file, and these pages load none of the wall's scripts (live.js, gridwall.js,
 * dash_adapter.js): see the assets_ignore of each Dash app in dashboard/app.py. */
(function () {
    "use strict";

    var noUpdate = function () { return window.dash_clientside.no_update; };

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        pages: {
            /* The review period picked in the controls, written into the URL (which holds the view):
             * keeps ?region= and ?at=, replaces period/date/end. */
            periodSearch: function (clicks, kind, date, end, search) {
                if (!clicks || !kind) { return noUpdate(); }
                var params = new URLSearchParams(search || "");
                params.set("period", kind);
                if (date) { params.set("date", String(date).slice(0, 10)); } else { params.delete("date"); }
                if (kind === "custom" && end) {
                    params.set("end", String(end).slice(0, 10));
                } else {
                    params.delete("end");
                }
                var next = "?" + params.toString();
                return next === (search || "") ? noUpdate() : next;
            },
            /* The end date is only used by a custom period. */
            endEnabled: function (kind) { return kind !== "custom"; }
        }
    });
}());
