// QR codes drawn locally (qrcode-generator, bundled): an SVG built node by node, no outside service.
import qrcode from 'qrcode-generator';
import { svg } from './dom.js';

const utf8 = (s) => Array.from(new TextEncoder().encode(s));

/** An <svg role="img"> holding the QR code of `text`, labelled `label`. */
export function qrSvg(text, label, size = 200) {
  const qr = qrcode(0, 'M');
  qrcode.stringToBytes = utf8;
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const margin = 4;
  const dim = n + margin * 2;
  const root = svg('svg', {
    viewBox: `0 0 ${dim} ${dim}`,
    width: size,
    height: size,
    role: 'img',
    'aria-label': label,
    class: 'qr',
    'shape-rendering': 'crispEdges',
  });
  root.append(svg('rect', { width: dim, height: dim, fill: '#fff' }));
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) d += `M${c + margin} ${r + margin}h1v1h-1z`;
    }
  }
  root.append(svg('path', { d, fill: '#000' }));
  return root;
}
