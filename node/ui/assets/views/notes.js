// The reception pages' Prototypes views: the prototype notes of all
// centres (#/prototypes), one note in Markdown (markdown.js), and the note
// form with its preview.
import { announce, api, clearErrors, field, h, label, listAll, select, showErrors, STATUSES, valueOrNull, when } from '../base.js';
import { centreName, isOwn, nodeMount } from '../node.js';

export async function viewNotes() {
  const main = nodeMount('Prototypes et applications');
  const list = h('ul', { class: 'cards', 'data-testid': 'notes-list' });
  main.append(h('p', { text: 'Ce que les centres ont construit, testé et évalué. Toutes les notes sont partagées entre les centres.' }),
    h('div', { class: 'toolbar' }, h('a', { class: 'button', href: '#/prototypes/nouvelle', 'data-testid': 'note-new', text: 'Nouvelle note' })),
    list);
  let notes;
  try { notes = await listAll('/api/v1/prototype-notes'); } catch (e) { announce(e.message, 'err'); return; }
  notes.sort((a, b) => (b.updated_at || '').localeCompare(a.updated_at || ''));
  if (!notes.length) list.append(h('li', { class: 'empty', text: 'Aucune note pour l\'instant.' }));
  for (const n of notes) {
    list.append(h('li', { class: 'card note', 'data-testid': 'note-card', 'data-id': n.id },
      h('h2', {}, h('a', { href: '#/prototypes/' + encodeURIComponent(n.id), text: n.title })),
      h('p', { class: 'meta' }, h('span', { class: 'badge', text: label(STATUSES, n.status) }), ' ', centreName(n.centre_id), isOwn(n) ? ' (votre centre)' : '', ' — mis à jour ', when(n.updated_at)),
      n.summary ? h('p', { text: n.summary }) : null,
      n.tags && n.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Étiquettes' }, n.tags.map((t) => h('li', { text: t }))) : null));
  }
}

export async function viewNote(id) {
  let n;
  try { n = await api('GET', '/api/v1/prototype-notes/' + encodeURIComponent(id)); } catch (e) { nodeMount('Note', h('p', { text: e.message })); return; }
  const body = h('div', { class: 'markdown', 'data-testid': 'note-body' });
  body.innerHTML = window.TerrilMarkdown.render(n.body || '');  // escaped first: see markdown.js
  const evaluation = h('div', { class: 'markdown', 'data-testid': 'note-evaluation' });
  evaluation.innerHTML = window.TerrilMarkdown.render(n.evaluation || '');
  nodeMount(n.title,
    h('p', { class: 'meta' }, h('span', { class: 'badge', text: label(STATUSES, n.status) }), ' ', centreName(n.centre_id), ' — mis à jour ', when(n.updated_at)),
    n.tags && n.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Étiquettes' }, n.tags.map((t) => h('li', { text: t }))) : null,
    n.summary ? h('p', { class: 'summary', text: n.summary }) : null,
    h('article', { class: 'card' }, body),
    n.evaluation ? h('section', { class: 'card' }, h('h2', { text: 'Évaluation' }), evaluation) : null,
    h('div', { class: 'actions' },
      isOwn(n) ? h('a', { class: 'button', href: '#/prototypes/' + encodeURIComponent(n.id) + '/modifier', 'data-testid': 'note-edit', text: 'Modifier' }) : null,
      h('a', { class: 'button secondary', href: '#/prototypes', text: 'Retour à la liste' })));
}

export async function viewNoteForm(id) {
  let n = null;
  if (id) {
    try { n = await api('GET', '/api/v1/prototype-notes/' + encodeURIComponent(id)); } catch (e) { nodeMount('Note', h('p', { text: e.message })); return; }
  }
  const f = {
    title: h('input', { type: 'text', maxlength: 200, value: n ? n.title : '' }),
    status: select(STATUSES, n ? n.status : 'idee'),
    summary: h('textarea', { rows: 2, maxlength: 1000 }),
    tags: h('input', { type: 'text', maxlength: 500, value: n ? (n.tags || []).join(', ') : '' }),
    body: h('textarea', { rows: 12, maxlength: 65536 }),
    evaluation: h('textarea', { rows: 6, maxlength: 4000 }),
  };
  f.summary.value = n && n.summary ? n.summary : '';
  f.body.value = n && n.body ? n.body : '';
  f.evaluation.value = n && n.evaluation ? n.evaluation : '';
  const preview = h('div', { class: 'markdown preview', 'aria-live': 'polite', 'data-testid': 'note-preview' });
  const updatePreview = () => { preview.innerHTML = window.TerrilMarkdown.render(f.body.value); };
  f.body.addEventListener('input', updatePreview);
  updatePreview();
  const submit = h('button', { type: 'submit', id: 'note-submit', 'data-testid': 'note-submit', text: n ? 'Enregistrer' : 'Publier la note' });
  const mdHint = 'Mise en forme possible : # Titre, **gras**, *italique*, listes avec « - », liens [texte](https://…).';
  const form = h('form', { id: 'note-form', class: 'card', novalidate: true },
    field('note', 'title', 'Titre', f.title, { required: true }),
    field('note', 'status', 'Statut', f.status, { required: true }),
    field('note', 'summary', 'Résumé', f.summary),
    field('note', 'tags', 'Étiquettes', f.tags, { hint: 'Séparées par des virgules, par exemple : tablette, seniors' }),
    field('note', 'body', 'Description (comment il a été construit et testé)', f.body, { hint: mdHint }),
    h('section', { 'aria-label': 'Aperçu de la description' }, h('h2', { text: 'Aperçu' }), preview),
    field('note', 'evaluation', 'Évaluation', f.evaluation, { hint: mdHint }),
    h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true }),
    h('div', { class: 'actions' }, submit, h('a', { class: 'button secondary', href: n ? '#/prototypes/' + encodeURIComponent(n.id) : '#/prototypes', text: 'Annuler' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      title: f.title.value.trim(), status: f.status.value, summary: valueOrNull(f.summary.value.trim()),
      tags: f.tags.value.split(',').map((t) => t.trim()).filter(Boolean),
      body: valueOrNull(f.body.value), evaluation: valueOrNull(f.evaluation.value.trim()),
    };
    if (!n) { for (const k of ['summary', 'body', 'evaluation']) if (body[k] === null) delete body[k]; }
    submit.disabled = true;
    try {
      const saved = n ? await api('PATCH', '/api/v1/prototype-notes/' + encodeURIComponent(n.id), body)
        : await api('POST', '/api/v1/prototype-notes', body);
      location.hash = '#/prototypes/' + encodeURIComponent(saved.id);
    } catch (err) {
      showErrors(form, 'note', err);
    } finally {
      submit.disabled = false;
    }
  });
  nodeMount(n ? 'Modifier la note' : 'Nouvelle note', form);
}
