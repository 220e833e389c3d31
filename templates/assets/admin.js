// The editor's desk's few behaviours that htmx does not cover: confirmations and the CSV import.
'use strict';

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRF-Token'] || '';
  } catch {
    return '';
  }
}

// On a phone the menu folds behind its button; without this script it simply stays open.
document.documentElement.classList.add('js');
const bar = document.querySelector('.bar');
const menuToggle = document.querySelector('.bar__toggle');
if (bar && menuToggle) {
  menuToggle.addEventListener('click', () => {
    const open = bar.classList.toggle('bar--open');
    menuToggle.setAttribute('aria-expanded', String(open));
  });
}

// On a phone a table reads as cards: each cell is labelled with its column's heading.
function labelCells(root) {
  for (const table of root.querySelectorAll('table')) {
    // A heading without text (a "tick all" box) is named by its control's label.
    const headings = [...table.querySelectorAll('thead th')].map((th) => {
      const labelled = th.querySelector('[aria-label]');
      return th.textContent.trim() || (labelled ? labelled.getAttribute('aria-label') : '');
    });
    if (headings.length === 0) continue;
    for (const row of table.querySelectorAll('tbody tr')) {
      [...row.children].forEach((cell, index) => {
        if (headings[index] && !cell.dataset.label) cell.dataset.label = headings[index];
      });
    }
  }
}
labelCells(document);
document.body.addEventListener('htmx:afterSwap', (event) => labelCells(event.target));

// A form or a button with data-confirm asks before it goes.
document.addEventListener('submit', (event) => {
  const form = event.target;
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// A "select all" box ticks or unticks every box of the form it names.
document.addEventListener('change', (event) => {
  const box = event.target;
  if (!box.dataset || !box.dataset.selectAll) return;
  for (const item of document.querySelectorAll(`input[name="ids"][form="${box.dataset.selectAll}"]`))
    item.checked = box.checked;
});

async function refreshList() {
  const list = document.getElementById('subscriber-list');
  if (!list) return;
  const answer = await fetch(window.location.href, { headers: { accept: 'text/html' } });
  if (!answer.ok) return;
  const page = new DOMParser().parseFromString(await answer.text(), 'text/html');
  const fresh = page.getElementById('subscriber-list');
  if (fresh) {
    list.replaceWith(fresh);
    labelCells(fresh);
  }
}

// The import sends the file as the request body (text/csv for subscribers, XML for articles: the
// form's data-type), as the API takes it, and polls how far
// the server has read it while the request runs; the answer is the report.
function setUpImport(form) {
  const progressBox = document.getElementById('import-progress');
  const bar = progressBox.querySelector('progress');
  const reportBox = document.getElementById('import-report');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const id = crypto.randomUUID();
    const button = form.querySelector('button');
    button.disabled = true;
    reportBox.innerHTML = '';
    bar.value = 0;
    progressBox.hidden = false;
    let polling = true;
    const poll = async () => {
      while (polling) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (!polling) break;
        const answer = await fetch(`${form.dataset.import}/${id}`, {
          headers: { accept: 'application/json' },
        });
        if (answer.ok) {
          const state = await answer.json();
          if (state.total) bar.value = Math.min(100, (state.read / state.total) * 100);
        }
      }
    };
    const polled = poll();
    let report = '';
    try {
      const response = await fetch(`${form.dataset.import}?id=${id}`, {
        method: 'POST',
        headers: { 'content-type': form.dataset.type || 'text/csv', 'x-csrf-token': csrfToken() },
        body: file,
      });
      report = await response.text();
      // The list shows what the import added: the page's own list, fetched again, in place.
      if (response.ok) await refreshList();
    } finally {
      polling = false;
      progressBox.hidden = true;
      button.disabled = false;
      reportBox.innerHTML = report;
    }
    await polled;
  });
}

document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('import-form');
  if (form) setUpImport(form);
});

// An image uploaded from the desk with its description: in the article editor, its Markdown is
// put where the cursor is in the body and the preview shown again; in the settings (a box with
// data-target), its address fills the field it is for.
document.addEventListener('click', async (event) => {
  const button = event.target.closest && event.target.closest('[data-image-insert]');
  if (!button) return;
  const box = button.closest('[data-upload]');
  const file = box.querySelector('[data-image-file]').files[0];
  const altField = box.querySelector('[data-image-alt]');
  const alt = altField ? altField.value.trim() : box.dataset.alt || '';
  const error = box.querySelector('[data-image-error]');
  error.hidden = true;
  if (!file || !alt) {
    error.textContent = box.dataset.missing;
    error.hidden = false;
    return;
  }
  button.disabled = true;
  try {
    const answer = await fetch(`${box.dataset.upload}?alt=${encodeURIComponent(alt)}`, {
      method: 'POST',
      headers: { 'content-type': file.type || 'application/octet-stream', 'x-csrf-token': csrfToken() },
      body: file,
    });
    if (!answer.ok) {
      const page = new DOMParser().parseFromString(await answer.text(), 'text/html');
      const alert = page.querySelector('.alert');
      error.textContent = alert ? alert.textContent : answer.statusText;
      error.hidden = false;
      return;
    }
    const { markdown, address } = await answer.json();
    box.querySelector('[data-image-file]').value = '';
    if (box.dataset.target) {
      document.getElementById(box.dataset.target).value = address;
      return;
    }
    const body = document.getElementById('body_md');
    const at = body.selectionStart ?? body.value.length;
    body.setRangeText(`\n\n${markdown}\n\n`, at, body.selectionEnd ?? at, 'end');
    body.dispatchEvent(new Event('input', { bubbles: true }));
    altField.value = '';
  } finally {
    button.disabled = false;
  }
});
