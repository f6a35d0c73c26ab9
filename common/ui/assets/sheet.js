// The attendance sheet's « Imprimer » button (the page is served by
// GET /api/v1/events/{id}/attendance-sheet; its CSP allows no inline script).
document.getElementById('print')?.addEventListener('click', () => window.print());
