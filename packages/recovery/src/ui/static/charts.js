// Inline SVG charts for the dashboard (bars over time, horizontal bars) and the DOM helper they
// share with app.js. Text goes in as text nodes only, so no value can become markup.

const SVG = "http://www.w3.org/2000/svg";

/** el("tr", { class: "x", onclick: fn }, child, "text"): children are nodes or text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}

function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Number.POSITIVE_INFINITY)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function formatBytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Vertical bars, one per point ({ label, value }); a <title> on each bar says its value. */
export function barChart(points, { width = 560, height = 170, format = String, label = "" } = {}) {
  const pad = { top: 18, bottom: 22, left: 8, right: 8 };
  const max = Math.max(1, ...points.map((p) => p.value));
  const inner = width - pad.left - pad.right;
  const step = inner / Math.max(1, points.length);
  const bar = Math.max(2, Math.min(40, step * 0.8));
  const h = height - pad.top - pad.bottom;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": label,
    class: "chart",
  });
  chart.append(svg("text", { x: pad.left, y: 12, class: "axis" }, `max ${format(max)}`));
  points.forEach((p, i) => {
    const bh = Math.max(1, (p.value / max) * h);
    const x = pad.left + i * step + (step - bar) / 2;
    chart.append(
      svg(
        "rect",
        { x, y: pad.top + h - bh, width: bar, height: bh, class: "bar" },
        svg("title", {}, `${p.label}: ${format(p.value)}`),
      ),
    );
  });
  const first = points[0];
  const last = points[points.length - 1];
  if (first) chart.append(svg("text", { x: pad.left, y: height - 6, class: "axis" }, first.label));
  if (last && last !== first) {
    chart.append(
      svg(
        "text",
        { x: width - pad.right, y: height - 6, class: "axis", "text-anchor": "end" },
        last.label,
      ),
    );
  }
  if (points.length === 0) {
    chart.append(
      svg(
        "text",
        { x: width / 2, y: height / 2, class: "axis", "text-anchor": "middle" },
        "no data",
      ),
    );
  }
  return chart;
}

/** Horizontal bars with a label each ({ label, value }); the label is text, never a link. */
export function hbarChart(items, { width = 560, format = String, label = "" } = {}) {
  const row = 22;
  const height = Math.max(row, items.length * row) + 4;
  const labelWidth = 220;
  const max = Math.max(1, ...items.map((i) => i.value));
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": label,
    class: "chart",
  });
  items.forEach((item, i) => {
    const y = i * row + 2;
    const w = Math.max(1, ((width - labelWidth - 80) * item.value) / max);
    const name = item.label.length > 30 ? `${item.label.slice(0, 29)}…` : item.label;
    chart.append(
      svg("text", { x: 0, y: y + 14, class: "label" }, name, svg("title", {}, item.label)),
    );
    chart.append(svg("rect", { x: labelWidth, y, width: w, height: row - 6, class: "bar" }));
    chart.append(
      svg("text", { x: labelWidth + w + 6, y: y + 14, class: "axis" }, format(item.value)),
    );
  });
  return chart;
}
