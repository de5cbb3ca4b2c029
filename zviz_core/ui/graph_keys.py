"""Keyboard access to the run graph: its nodes become focusable buttons, named by their
descriptions, and Enter or Space on one opens its step as a click does (issue 14).

Vega draws the graph and names each node (`aria-label`) but makes no node focusable, and its
selections answer only to the pointer. A small component of ours, with no markup of its own,
finds the graph drawn beside it, gives each node the button role, walks them with the arrow keys
and reports the step of the node pressed. The graph is one Tab stop (a roving tabindex): the node
last focused, at first the first one, takes Tab; the arrows, Home and End move between nodes.
Node names are untrusted: they reach the script as data and are only compared with attributes,
never written into markup.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st

# The container the graph is drawn in (`st.container(key=CONTAINER_KEY)`), and its class.
CONTAINER_KEY = "run-graph"
CONTAINER_CLASS = f"st-key-{CONTAINER_KEY}"
# The component draws nothing; out of the flow, it adds no gap under the graph.
KEY_PREFIX = "graph-keys-"
FOCUS_STYLE = f"""
.{CONTAINER_CLASS} [class*="st-key-{KEY_PREFIX}"] {{ position: absolute }}
.{CONTAINER_CLASS} [data-testid=stVegaLiteChart] [role=button]:focus-visible {{
  outline: 3px solid #1570ef;
  outline-offset: 3px;
  stroke: #101828;
  stroke-width: 3px;
}}
"""

SCRIPT = """
let focused = null;
let current = null; // the name of the one node Tab reaches

export default function ({ data, parentElement, setTriggerValue }) {
  const host = parentElement instanceof ShadowRoot ? parentElement.host : parentElement;
  const box = host.closest("." + data.container);
  if (!box) return;
  const steps = new Map(Object.entries(data.targets));
  const nameOf = (el) => (el instanceof Element ? el.getAttribute("aria-label") : null);
  const nodes = () =>
    Array.from(box.querySelectorAll("[data-testid=stVegaLiteChart] [aria-label]")).filter(
      (el) => steps.has(nameOf(el)),
    );

  const enhance = () => {
    const all = nodes();
    const stop = all.find((el) => nameOf(el) === current) || all[0];
    for (const el of all) {
      const tabindex = el === stop ? "0" : "-1";
      if (el.getAttribute("tabindex") !== tabindex) el.setAttribute("tabindex", tabindex);
      if (el.getAttribute("role") !== "button") el.setAttribute("role", "button");
      // Vega calls each node a "rect mark", which would be read out instead of "button".
      if (el.hasAttribute("aria-roledescription")) el.removeAttribute("aria-roledescription");
    }
    // A rerun (after Enter, or as a running run goes on) may draw the graph anew, dropping the
    // focused node: its successor, by name or else by the step it opens, takes the focus back.
    const active = document.activeElement;
    if (focused && !focused.el.isConnected && (!active || active === document.body)) {
      const all = nodes();
      const again =
        all.find((el) => nameOf(el) === focused.name) ||
        all.find((el) => steps.get(nameOf(el)) === focused.step);
      if (again) again.focus({ preventScroll: true });
    }
  };

  const onFocus = (event) => {
    const name = nameOf(event.target);
    if (!steps.has(name)) return;
    focused = { el: event.target, name, step: steps.get(name) };
    if (current !== name) {
      current = name;
      enhance();
    }
  };
  // A node still on the page that lost the focus was left by the user: nothing to restore.
  const onBlur = () =>
    setTimeout(() => {
      if (focused && focused.el.isConnected && focused.el !== document.activeElement) {
        focused = null;
      }
    });

  const onKey = (event) => {
    const name = nameOf(event.target);
    if (!steps.has(name)) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      setTriggerValue("open", steps.get(name));
      return;
    }
    const all = nodes();
    const at = all.indexOf(event.target);
    const moves = {
      ArrowRight: at + 1,
      ArrowDown: at + 1,
      ArrowLeft: at - 1,
      ArrowUp: at - 1,
      Home: 0,
      End: all.length - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = all[Math.max(0, Math.min(all.length - 1, moves[event.key]))];
    if (next) next.focus();
  };

  enhance();
  const observer = new MutationObserver(enhance);
  observer.observe(box, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["role", "tabindex", "aria-label", "aria-roledescription"],
  });
  box.addEventListener("keydown", onKey);
  box.addEventListener("focusin", onFocus);
  box.addEventListener("focusout", onBlur);
  return () => {
    observer.disconnect();
    box.removeEventListener("keydown", onKey);
    box.removeEventListener("focusin", onFocus);
    box.removeEventListener("focusout", onBlur);
  };
}
"""

_component = st.components.v2.component("zviz_graph_keys", js=SCRIPT)


def keyboard_access(scope: str, targets: dict[str, str], on_open: Callable[[str], None]) -> None:
    """Make the graph drawn in the same `run-graph` container keyboard-operable.

    `scope` tells this graph's keys from another's (a run id); `targets` maps each node's
    accessible name to the step it opens; `on_open` gets that step when a node is pressed.
    """
    key = KEY_PREFIX + scope
    _component(
        key=key,
        data={"container": CONTAINER_CLASS, "targets": targets},
        height=0,
        on_open_change=functools.partial(_pressed, key, on_open),
    )


def _pressed(key: str, on_open: Callable[[str], None]) -> None:
    state = st.session_state.get(key) or {}
    step = state.get("open") if isinstance(state, dict) else None
    if isinstance(step, str) and step:
        on_open(step)
