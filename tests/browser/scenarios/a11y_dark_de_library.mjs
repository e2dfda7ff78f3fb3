// Accessibility in the dark theme and German, library part: the dashboard, bookmarks, folders,
// tags and go-link pages with their dialogs, the palette, search as you type and a new member's
// empty pages, each at desktop width and at 375 px, checked with axe-core against WCAG 2.0/2.1
// A and AA (see ../a11y.mjs).
import { tour } from '../a11y.mjs';

export default async function a11y(t) {
  await tour(t, { theme: 'dark', lang: 'de', part: 'library' });
}
