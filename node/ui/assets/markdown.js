// A tiny, safe Markdown subset for prototype notes.
//
// Safety by construction: the source is HTML-escaped FIRST, then a few
// patterns are turned into tags. No raw HTML passes; links keep only
// http:// and https:// targets (no javascript:, data:...), and their URL can
// hold no quote (escaped to &quot;), so it cannot leave the href attribute.
//
// Supported: "# ", "## ", "### " headings; "- " / "* " bullet lists;
// "1. " numbered lists; **bold**; *italics* and _italics_;
// [text](https://example.org); blank lines separate paragraphs.
'use strict';

(function (root) {
  function escapeHtml(s) {
    return String(s)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;');
  }

  // `s` is already escaped.
  function inline(s) {
    const links = [];
    s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s()<>]+)\)/g, function (m, text, url) {
      links.push({ text: text, url: url });
      return '\u0000' + (links.length - 1) + '\u0000';
    });
    s = s.replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, '<strong>$1</strong>');
    s = s.replace(/(^|[^*\w])\*(?=\S)([^*\n]*?\S)\*(?![*\w])/g, '$1<em>$2</em>');
    s = s.replace(/(^|[^\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1<em>$2</em>');
    return s.replace(/\u0000(\d+)\u0000/g, function (m, i) {
      const l = links[Number(i)];
      const text = l.text.replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, '<strong>$1</strong>');
      return '<a href="' + l.url + '" rel="noopener noreferrer nofollow">' + text + '</a>';
    });
  }

  function render(src) {
    const lines = escapeHtml(src == null ? '' : src).split(/\r?\n/);
    const out = [];
    let para = [];
    let list = null; // 'ul' | 'ol'
    function flushPara() {
      if (para.length) out.push('<p>' + para.map(inline).join('<br>') + '</p>');
      para = [];
    }
    function closeList() {
      if (list) out.push('</' + list + '>');
      list = null;
    }
    for (const line of lines) {
      let m;
      if ((m = /^(#{1,3})\s+(.*)$/.exec(line))) {
        flushPara();
        closeList();
        const level = m[1].length + 2; // the page already has h1 and h2
        out.push('<h' + level + '>' + inline(m[2].trim()) + '</h' + level + '>');
      } else if ((m = /^\s*[-*]\s+(.*)$/.exec(line))) {
        flushPara();
        if (list !== 'ul') { closeList(); out.push('<ul>'); list = 'ul'; }
        out.push('<li>' + inline(m[1]) + '</li>');
      } else if ((m = /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line))) {
        flushPara();
        if (list !== 'ol') { closeList(); out.push('<ol>'); list = 'ol'; }
        out.push('<li>' + inline(m[1]) + '</li>');
      } else if (/^\s*$/.test(line)) {
        flushPara();
        closeList();
      } else {
        closeList();
        para.push(line);
      }
    }
    flushPara();
    closeList();
    return out.join('\n');
  }

  const api = { render: render, escapeHtml: escapeHtml };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.TerrilMarkdown = api;
})(this);
