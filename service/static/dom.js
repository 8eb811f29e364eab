// A tiny DOM helper: el('p', {class, text, dataTestid, ariaLabel, ...props}, ...children).

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data') || key.startsWith('aria') || key === 'for' || key === 'role') node.setAttribute(toAttr(key), value === true ? '' : String(value));
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
const toAttr = (key) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
