"""A searchable multiple-choice list: the dashboard's partner (or employee, unit ...) box.

The browser's own suggestion lists (``<datalist>``, as in ``ipywidgets.TagsInput``) match from the
start of a name, with the browser's rules for case and accents, and cannot be reached the same way
in every browser. :class:`PickList` filters in Python, where :func:`matches` decides: every word
typed must appear somewhere in the name, ignoring case and accents ("bri" finds "Brightline IT",
"zur" finds "Zürich Data"). The list is an ARIA listbox that works from the keyboard: type to
filter, Enter picks the first match, ↓/↑ move through the list, Space or Enter pick and unpick,
and each chosen name is a button that removes it.

Part of the widget layer (:mod:`channelkpi.widgets` uses it); nothing below the widgets imports it.

Examples
--------
>>> box = PickList(options=[("Brightline IT", "Brightline IT"), ("Zürich Data", "Zürich Data")], label="Partners")
>>> box.query = "zur"
>>> box.shown
[['Zürich Data', 'Zürich Data']]
>>> box.value = ["Brightline IT"]
>>> box.labels
{'Brightline IT': 'Brightline IT'}
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import anywidget
import traitlets

from .i18n import gettext as _

__all__ = ["PickList", "fold", "matches"]


def fold(text: object) -> str:
    """Text as a search compares it: accents removed, case folded, spaces collapsed.

    >>> fold("Zürich  DATA"), fold("Straße"), fold("Ångström")
    ('zurich data', 'strasse', 'angstrom')
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def matches(query: str, options: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(value, label)`` options whose label contains every word of ``query``.

    Case and accents are ignored; the words may appear in any order and anywhere in the label.

    >>> names = [("a", "Brightline IT"), ("b", "Zürich Data"), ("c", "Cobalt Integrations")]
    >>> [v for v, _ in matches("bri", names)], [v for v, _ in matches("data zur", names)]
    (['a'], ['b'])
    >>> [v for v, _ in matches("  ", names)]
    ['a', 'b', 'c']
    """
    words = fold(query).split()
    if not words:
        return list(options)
    return [(v, label) for v, label in options if all(w in fold(label) for w in words)]


class PickList(anywidget.AnyWidget):
    """Choose any number of values from a long list, by typing part of a name or from the keyboard.

    Parameters
    ----------
    options : sequence of (value, label)
        What can be chosen; the label is what people read and search.
    value : list of str
        The values chosen (in the order they were chosen).
    label : str
        What the values are ("Partners").
    empty_text : str
        What nothing chosen means ("All partners").
    placeholder : str
        The search box's hint.
    hint : str
        One line under the list (how the list relates to the rest of the page, which keys work).
    searchable : bool
        False for a short list shown whole, without a search box (the channels).
    limit : int
        At most this many matches are listed at once; the rest are counted (type to narrow).
    """

    _esm = """
function el_(tag, cls, attrs) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}
let counter = 0;

function render({ model, el }) {
  const uid = "ck-pick-" + (++counter) + "-" + Math.random().toString(36).slice(2, 7);
  const root = el_("div", "ck-pick");
  const label = el_("div", "ck-pick-label", { id: uid + "-label" });
  const chosen = el_("div", "ck-pick-chosen", { "aria-live": "polite", id: uid + "-chosen" });
  const input = el_("input", "ck-pick-search", {
    type: "search", id: uid + "-search", role: "combobox", "aria-autocomplete": "list",
    "aria-controls": uid + "-list", "aria-expanded": "true", autocomplete: "off", spellcheck: "false",
    "aria-describedby": uid + "-hint",
  });
  const list = el_("ul", "ck-pick-list", {
    id: uid + "-list", role: "listbox", "aria-multiselectable": "true", tabindex: "0",
    "aria-labelledby": uid + "-label", "aria-describedby": uid + "-hint",
  });
  const more = el_("div", "ck-pick-more", { "aria-live": "polite" });
  const hint = el_("div", "ck-pick-hint", { id: uid + "-hint" });
  root.append(label, chosen, input, list, more, hint);
  el.appendChild(root);
  let active = 0;

  const shown = () => model.get("shown") || [];
  // the box's own sentences, in the dashboard's language: "{name}" placeholders filled in here
  const say = (key, values) =>
    Object.entries(values).reduce((t, [k, v]) => t.split("{" + k + "}").join(String(v)), (model.get("texts") || {})[key] || "");
  const value = () => model.get("value") || [];

  function toggle(v) {
    const now = value();
    const next = now.includes(v) ? now.filter((x) => x !== v) : [...now, v];
    model.set("value", next);
    model.save_changes();
  }

  function setActive(i, scroll = true) {
    const items = list.querySelectorAll("[role=option]");
    if (!items.length) { list.removeAttribute("aria-activedescendant"); return; }
    active = Math.max(0, Math.min(i, items.length - 1));
    items.forEach((it, j) => it.classList.toggle("ck-active", j === active));
    list.setAttribute("aria-activedescendant", items[active].id);
    if (scroll) items[active].scrollIntoView({ block: "nearest" });
  }

  let drawnChips = null;
  function drawChosen() {
    const labels = model.get("labels") || {};
    const v = value();
    // chips are drawn again only when they change, and the chip a keyboard is on keeps the focus
    // (an update from the kernel arriving while someone tabs through the chips must not drop it)
    const key = JSON.stringify([v, v.map((x) => labels[x] ?? x), model.get("searchable"), model.get("empty_text")]);
    if (key === drawnChips) return;
    drawnChips = key;
    const focused = chosen.contains(document.activeElement) ? document.activeElement.dataset.value : null;
    chosen.replaceChildren();
    if (!v.length || !model.get("searchable")) {
      const none = el_("span", "ck-pick-none");
      none.textContent = v.length ? say("chosen", { count: v.length }) : model.get("empty_text");
      chosen.appendChild(none);
      return;
    }
    for (const x of v) {
      const name = labels[x] ?? x;
      const remove = say("remove", { name: name });
      const chip = el_("button", "ck-chip", { type: "button", "aria-label": remove, title: remove });
      const text = el_("span", "ck-chip-text");
      text.textContent = name;
      const cross = el_("span", "ck-chip-x", { "aria-hidden": "true" });
      cross.textContent = "×";
      chip.append(text, cross);
      chip.dataset.value = x;
      chip.addEventListener("click", () => { toggle(x); input.focus(); });
      chosen.appendChild(chip);
      if (x === focused) chip.focus();
    }
  }

  function drawList() {
    const v = new Set(value());
    list.replaceChildren();
    shown().forEach(([val, text], i) => {
      const item = el_("li", "ck-pick-option", {
        role: "option", id: uid + "-opt-" + i, "aria-selected": v.has(val) ? "true" : "false",
      });
      const box = el_("span", "ck-pick-box", { "aria-hidden": "true" });
      const name = el_("span", "ck-pick-name");
      name.textContent = text;
      item.append(box, name);
      item.addEventListener("mousedown", (e) => e.preventDefault());  // keep the focus where it is
      item.addEventListener("click", () => { setActive(i, false); toggle(val); });
      list.appendChild(item);
    });
    const n = model.get("more") || 0;
    const q = model.get("query") || "";
    more.textContent = n ? say("more", { count: n.toLocaleString() })
      : (!shown().length && q ? say("nothing", { query: q }) : "");
    setActive(active, false);
  }

  function drawLabels() {
    label.textContent = model.get("label");
    input.placeholder = model.get("placeholder");
    input.setAttribute("aria-label", model.get("placeholder") || model.get("label"));
    hint.textContent = model.get("hint");
    root.classList.toggle("ck-pick-inline", !model.get("searchable"));
    input.hidden = !model.get("searchable");
    if (input.value !== model.get("query") && document.activeElement !== input) input.value = model.get("query");
  }

  let pendingEnter = false;
  function chooseFirst() {
    if (!pendingEnter || model.get("shown_for") !== input.value) return;
    pendingEnter = false;
    if (!shown().length || !input.value.trim()) return;
    toggle(shown()[0][0]);
    input.value = ""; model.set("query", ""); model.save_changes();
  }

  input.addEventListener("input", () => {
    pendingEnter = false;
    active = 0;
    model.set("query", input.value);
    model.save_changes();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && shown().length) {
      e.preventDefault(); list.focus(); setActive(0);
    } else if (e.key === "Enter") {
      // the list may still answer an earlier query: choose once it answers this one
      e.preventDefault(); pendingEnter = true; chooseFirst();
    } else if (e.key === "Escape" && input.value) {
      e.preventDefault(); input.value = ""; model.set("query", ""); model.save_changes();
    } else if (e.key === "Backspace" && !input.value && value().length) {
      toggle(value()[value().length - 1]);
    }
  });
  list.addEventListener("focus", () => setActive(active));
  list.addEventListener("keydown", (e) => {
    const items = shown();
    const vertical = model.get("searchable");
    const next = vertical ? "ArrowDown" : "ArrowRight";
    const prev = vertical ? "ArrowUp" : "ArrowLeft";
    if (e.key === next || e.key === "ArrowDown") { e.preventDefault(); setActive(active + 1); }
    else if (e.key === prev || e.key === "ArrowUp") {
      e.preventDefault();
      if (active === 0 && !input.hidden) input.focus(); else setActive(active - 1);
    }
    else if (e.key === "Home") { e.preventDefault(); setActive(0); }
    else if (e.key === "End") { e.preventDefault(); setActive(items.length - 1); }
    else if ((e.key === " " || e.key === "Enter") && items[active]) { e.preventDefault(); toggle(items[active][0]); }
    else if (e.key === "Escape" && !input.hidden) { e.preventDefault(); input.focus(); }
    else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey && !input.hidden) {
      // typing in the list types in the search box
      e.preventDefault(); input.focus(); input.value += e.key; input.dispatchEvent(new Event("input"));
    }
  });

  model.on("change:shown", drawList);
  model.on("change:shown_for", chooseFirst);
  model.on("change:more", drawList);
  model.on("change:value", () => { drawChosen(); drawList(); });
  model.on("change:labels", drawChosen);
  for (const t of ["label", "placeholder", "hint", "searchable", "query", "empty_text"]) {
    model.on("change:" + t, () => { drawLabels(); drawChosen(); });
  }
  drawLabels();
  drawChosen();
  drawList();
}
export default { render };
"""

    _css = """
.ck-pick {display: flex; flex-direction: column; gap: 4px; min-width: 0; font-size: 13px;}
.ck-pick-label {font-weight: 600; color: #1b2733;}
.ck-pick-chosen {display: flex; flex-wrap: wrap; gap: 4px; min-height: 24px; align-items: center;}
.ck-pick-none {color: #56606b;}
.ck-chip {display: inline-flex; align-items: center; gap: 6px; max-width: 100%; border: 1px solid #0072B2;
  background: #e8f1f8; color: #0b3c5d; border-radius: 12px; padding: 1px 8px; font: inherit; cursor: pointer;}
.ck-chip-text {overflow: hidden; text-overflow: ellipsis; white-space: nowrap;}
.ck-chip-x {font-weight: 700;}
.ck-chip:focus-visible, .ck-pick-search:focus-visible, .ck-pick-list:focus-visible {outline: 2px solid #0072B2; outline-offset: 1px;}
.ck-pick-list:focus {border-color: #0072B2;}
.ck-pick-search {box-sizing: border-box; width: 100%; padding: 4px 8px; border: 1px solid #9aa5b1; border-radius: 4px; font: inherit;}
.ck-pick-list {list-style: none; margin: 0; padding: 2px; max-height: 9.6em; overflow-y: auto; border: 1px solid #c9d1da; border-radius: 4px; background: #fff;}
.ck-pick-option {display: flex; align-items: center; gap: 8px; padding: 2px 6px; border-radius: 3px; cursor: pointer; line-height: 1.5;}
.ck-pick-option:hover {background: #f0f4f8;}
.ck-pick-list:focus .ck-pick-option.ck-active {background: #dbe9f5; outline: 2px solid #0072B2; outline-offset: -2px;}
.ck-pick-box {flex: none; width: 12px; height: 12px; border: 1.5px solid #56606b; border-radius: 2px; background: #fff;}
.ck-pick-option[aria-selected=true] .ck-pick-box {background: #0072B2; border-color: #0072B2;
  box-shadow: inset 0 0 0 2px #fff;}
.ck-pick-option[aria-selected=true] .ck-pick-name {font-weight: 600;}
.ck-pick-more, .ck-pick-hint {color: #56606b; font-size: 12px;}
.ck-pick-inline .ck-pick-list {display: flex; flex-wrap: wrap; gap: 4px; max-height: none; border: none; padding: 0;}
.ck-pick-inline .ck-pick-option {border: 1px solid #c9d1da;}
.ck-pick-inline .ck-pick-option[aria-selected=true] {border-color: #0072B2; background: #e8f1f8;}
"""

    value = traitlets.List(traitlets.Unicode()).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    empty_text = traitlets.Unicode("All").tag(sync=True)
    placeholder = traitlets.Unicode("Search").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    #: the sentences the page writes itself, in the language in force when the box is made
    texts = traitlets.Dict().tag(sync=True)
    searchable = traitlets.Bool(True).tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    #: the options matching ``query`` (at most ``limit``), as ``[value, label]`` pairs
    shown = traitlets.List().tag(sync=True)
    #: the query ``shown`` answers (the page may have sent a newer one)
    shown_for = traitlets.Unicode("").tag(sync=True)
    #: matches beyond ``limit``
    more = traitlets.Int(0).tag(sync=True)
    #: labels of the chosen values (the options may be filtered out of view)
    labels = traitlets.Dict().tag(sync=True)
    options = traitlets.List()
    limit = traitlets.Int(200)

    def __init__(self, options: Sequence[tuple[str, str]] = (), **kwargs) -> None:
        kwargs.setdefault(
            "texts",
            {
                "chosen": _("{count} chosen"),
                "remove": _("Remove {name}"),
                "more": _("and {count} more: type to narrow the list"),
                "nothing": _("Nothing matches “{query}”"),
            },
        )
        kwargs.setdefault("empty_text", _("All"))
        kwargs.setdefault("placeholder", _("Search"))
        super().__init__(options=[(str(v), str(label)) for v, label in options], **kwargs)
        self._match()
        self._name_chosen()

    @traitlets.validate("options")
    def _pairs(self, proposal):
        return [(str(v), str(label)) for v, label in proposal["value"]]

    @traitlets.observe("query", "options", "limit")
    def _match(self, _change=None) -> None:
        found = matches(self.query, self.options)
        with self.hold_sync():
            self.shown = [[v, label] for v, label in found[: self.limit]]
            self.more = max(len(found) - self.limit, 0)
            self.shown_for = self.query

    @traitlets.observe("value", "options")
    def _name_chosen(self, _change=None) -> None:
        names = dict(self.options)
        self.labels = {v: names.get(v, v) for v in self.value}
