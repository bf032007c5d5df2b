// pdf.js (pdfjs-dist), bundled apart from the page as /assets/pdf.js and loaded only when a PDF
// is previewed (with its Subresource Integrity). Why pdf.js: Chromium shows no PDF inside the
// `Content-Security-Policy: sandbox` frame the daemon gives every document, and a document
// must never run script in the app's origin. pdf.js parses the bytes in a worker
// (/assets/pdf.worker.js, from 'self') and draws pages on a canvas: the document is data, never
// a page, a plug-in or script (no PDF JavaScript, no XFA, no eval: the build refuses a bundle
// that contains eval or new Function).
import { getDocument, GlobalWorkerOptions } from 'pdfjs-dist';

globalThis.VaultPdf = { getDocument, GlobalWorkerOptions };
