// A small, safe Markdown subset for model output, built only with DOM
// calls (createElement, textContent): paragraphs, fenced code blocks, inline
// code, bullet and numbered lists, and [text](url) links to http(s) URLs.
// Anything else, HTML included, stays literal text.

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+.#-]*)\s*$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;

/** Replaces the children of `container` with `text` rendered. */
export function renderMarkdown(container, text) {
  container.replaceChildren(...blocks(String(text)));
}

function blocks(text) {
  const lines = text.split(/\r\n|\r|\n/);
  const out = [];
  let paragraph = [];
  let list = null;
  const endParagraph = () => {
    if (paragraph.length > 0) out.push(element('p', paragraph.join('\n')));
    paragraph = [];
  };
  const endList = () => {
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      endParagraph();
      endList();
      const marker = fence[1];
      const code = [];
      i += 1;
      // An unclosed fence (an answer still streaming) runs to the end.
      while (i < lines.length && !lines[i].trim().startsWith(marker)) {
        code.push(lines[i]);
        i += 1;
      }
      out.push(codeBlock(code.join('\n'), fence[2]));
      continue;
    }
    if (line.trim() === '') {
      endParagraph();
      endList();
      continue;
    }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      endParagraph();
      const kind = bullet ? 'ul' : 'ol';
      if (!list || list.localName !== kind) {
        list = document.createElement(kind);
        if (numbered && numbered[1] !== '1') list.start = Number(numbered[1]);
        out.push(list);
      }
      const item = document.createElement('li');
      item.append(...inline(bullet ? bullet[1] : numbered[2]));
      list.append(item);
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      // An indented line continues the list item above.
      const item = list.lastElementChild;
      item.append('\n', ...inline(line.trim()));
      continue;
    }
    endList();
    paragraph.push(line);
  }
  endParagraph();
  return out;
}

function element(tag, text) {
  const node = document.createElement(tag);
  node.append(...inline(text));
  return node;
}

function codeBlock(text, language) {
  const pre = document.createElement('pre');
  const code = document.createElement('code');
  if (language) code.dataset.language = language;
  code.textContent = text;
  pre.append(code);
  return pre;
}

/** Inline code spans first (their content is never parsed), then links in the rest. */
function inline(text) {
  const nodes = [];
  const pattern = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g;
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    nodes.push(...links(text.slice(last, match.index)));
    const code = document.createElement('code');
    code.textContent = match[2];
    nodes.push(code);
    last = match.index + match[0].length;
  }
  nodes.push(...links(text.slice(last)));
  return nodes;
}

function links(text) {
  const nodes = [];
  const pattern = /\[([^\]\n]+)\]\(([^()\s]+)\)/g;
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const url = safeUrl(match[2]);
    if (!url) continue; // left as the literal text around it
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement('a');
    a.href = url;
    a.textContent = match[1];
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    nodes.push(a);
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

/** The URL when it is absolute http or https; null otherwise (javascript:, data:, relative). */
export function safeUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}
