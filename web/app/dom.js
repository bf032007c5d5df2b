// DOM helpers: elements built with createElement and textContent only (never innerHTML).
export const $ = (id) => document.getElementById(id);

let uid = 0;
export const newId = (prefix = 'id') => `${prefix}-${++uid}`;

/** el('button', {class: 'primary', text: 'OK', onclick: fn}, child, …) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'readOnly') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c);
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** A labelled field: <label for>, the control, a help line wired with aria-describedby. */
export function field(label, control, help = null) {
  const id = control.id || newId('f');
  control.id = id;
  const wrap = el('div', { class: 'field' }, el('label', { for: id, text: label }), control);
  if (help) {
    const hid = `${id}-help`;
    wrap.append(el('p', { class: 'help', id: hid, text: help }));
    const prev = control.getAttribute('aria-describedby');
    control.setAttribute('aria-describedby', prev ? `${prev} ${hid}` : hid);
  }
  return wrap;
}

export function checkbox(label, props = {}) {
  const input = el('input', { type: 'checkbox', ...props });
  input.id = input.id || newId('c');
  return { input, row: el('div', { class: 'check' }, input, el('label', { for: input.id, text: label })) };
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}
