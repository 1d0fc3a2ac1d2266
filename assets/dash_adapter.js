/* gridwallDash: everything gridwall does to Dash beyond its documented API, in one place.
 * assets/live.js uses Dash only through this object. Dash loads assets in alphabetical order:
 * this file's name sorts before live.js (and gridwall.js), so the object exists when they run.
 *
 * Checked with Dash 4.4.1 (dash-renderer 3.4.1), the range pinned in pyproject.toml
 * (dash>=4.4,<4.5). tests/test_dash_adapter.py reads the installed renderer bundle for each
 * internal below, and checks them in a browser (check() empty, the trim, the fetch watch).
 *
 * The internals:
 * - watchCallback(inputId, on): the renderer sends each server callback as a POST to
 *   .../_dash-update-component through the global window.fetch, the request's JSON as a string
 *   body, and tells the page nothing when one fails. Wrapping window.fetch (once, here) lets the
 *   page see the answer to its own callbacks: on.answered(ok) with the response's status, or
 *   on.failed() when no answer came, for every request whose body names the component inputId.
 * - setProps(id, props): window.dash_clientside.set_props, which the renderer bundle defines as
 *   it loads (after the assets: call it once the page runs, canSetProps() says whether it can).
 * - toNode(component): a component as the renderer receives it, {type, namespace, props}
 *   (Component.to_plotly_json()), drawn into DOM nodes outside React: html components from the
 *   allow-list TAGS only, text as text nodes, attributes from an allow-list; nothing is parsed
 *   as HTML. null when there is nothing to draw.
 * - trimUndoHistory(kept): the renderer's Redux store is window.store; its state.history =
 *   {past, present, future} is the undo history, and every input prop changed other than by a
 *   server answer (each set_props) appends to history.past, which is never dropped. Keeps the
 *   newest `kept` entries (in place: the reducer copies past into a new array on the next
 *   change); returns how many were dropped.
 * - check(): the names of the internals above that are not where this file expects them, []
 *   when all hold: set_props; window.store with history.past; a component in the store
 *   (state.layout.components, the page's root) in the JSON toNode reads; window.fetch still the
 *   watched one, and the renderer's callback requests going through it. Meaningful once the page
 *   has loaded (the renderer has sent its first callback). requestsSeen(): how many callback
 *   requests the watch has seen (tests).
 */
(function () {
    "use strict";

    var CALLBACK_PATH = "_dash-update-component";
    var watchers = [];
    var requestsSeen = 0;  // the renderer's callback requests that went through the watched fetch

    function requestUrl(input) {
        if (typeof input === "string") { return input; }
        return (input && input.url) || String(input);
    }

    var realFetch = window.fetch;
    function watchedFetch(input, init) {
        var answer = realFetch.apply(this, arguments);
        if (requestUrl(input).indexOf(CALLBACK_PATH) === -1) { return answer; }
        requestsSeen += 1;
        var body = init && init.body;
        if (typeof body !== "string") { return answer; }
        var mine = watchers.filter(function (w) { return body.indexOf(w.needle) !== -1; });
        if (mine.length === 0) { return answer; }
        return answer.then(function (response) {
            mine.forEach(function (w) { if (w.on.answered) { w.on.answered(response.ok); } });
            return response;
        }, function (error) {
            mine.forEach(function (w) { if (w.on.failed) { w.on.failed(); } });
            throw error;
        });
    }
    window.fetch = watchedFetch;

    function watchCallback(inputId, on) {
        watchers.push({needle: JSON.stringify(String(inputId)), on: on || {}});
    }

    function canSetProps() {
        return !!(window.dash_clientside && typeof window.dash_clientside.set_props === "function");
    }

    function setProps(id, props) {
        window.dash_clientside.set_props(id, props);
    }

    var TAGS = {Div: "div", Span: "span", P: "p", B: "b", Strong: "strong", Em: "em", I: "i", Small: "small",
                Li: "li", Ul: "ul", Ol: "ol", Time: "time", Abbr: "abbr", Br: "br", Mark: "mark"};
    var ATTRIBUTE = /^(title|data-[a-z0-9-]+|aria-[a-z]+)$/;

    function toNode(c) {
        if (c === null || c === undefined || c === false) { return null; }
        if (typeof c === "string" || typeof c === "number") { return document.createTextNode(String(c)); }
        if (Array.isArray(c)) {
            var fragment = document.createDocumentFragment();
            c.forEach(function (x) { var n = toNode(x); if (n) { fragment.appendChild(n); } });
            return fragment;
        }
        var tag = c.namespace === "dash_html_components" && TAGS[c.type];
        if (!tag) { return null; }
        var el = document.createElement(tag), props = c.props || {};
        Object.keys(props).forEach(function (k) {
            var v = props[k];
            if (v === null || v === undefined || typeof v === "object" && k !== "style") { return; }
            if (k === "className") {
                el.className = String(v);
            } else if (k === "style") {
                Object.keys(v).forEach(function (name) { el.style[name] = String(v[name]); });
            } else if (ATTRIBUTE.test(k)) {
                el.setAttribute(k, String(v));
            }
        });
        var children = toNode(props.children);
        if (children) { el.appendChild(children); }
        return el;
    }

    function storeState() {
        var store = window.store;
        return store && typeof store.getState === "function" ? store.getState() : null;
    }

    function trimUndoHistory(kept) {
        var state = storeState();
        var history = state && state.history;
        if (!history || !Array.isArray(history.past) || history.past.length <= kept) { return 0; }
        return history.past.splice(0, history.past.length - kept).length;
    }

    function check() {
        var missing = [];
        if (!canSetProps()) { missing.push("dash_clientside.set_props"); }
        var state = storeState();
        if (!state) {
            missing.push("window.store");
        } else {
            if (!state.history || !Array.isArray(state.history.past)) { missing.push("store history.past"); }
            // The page's root component as the renderer holds it (Dash 4: state.layout.components).
            var root = state.layout && state.layout.components !== undefined ? state.layout.components : state.layout;
            if (Array.isArray(root)) { root = root[0]; }
            if (!root || typeof root.type !== "string" || typeof root.namespace !== "string" ||
                    typeof root.props !== "object") {
                missing.push("component JSON {type, namespace, props}");
            }
        }
        if (window.fetch !== watchedFetch) { missing.push("window.fetch watch (replaced)"); }
        if (requestsSeen === 0) { missing.push("callback requests through window.fetch"); }
        return missing;
    }

    window.gridwallDash = {
        watchCallback: watchCallback,
        canSetProps: canSetProps,
        setProps: setProps,
        toNode: toNode,
        trimUndoHistory: trimUndoHistory,
        check: check,
        requestsSeen: function () { return requestsSeen; }
    };
}());
