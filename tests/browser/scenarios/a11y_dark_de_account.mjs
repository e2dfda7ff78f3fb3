// Accessibility in the dark theme and German, account part: profile, security, tokens, admin
// and signed-out pages with their dialogs, MFA enrolment and sign-in, each at desktop width and
// at 375 px, checked with axe-core against WCAG 2.0/2.1 A and AA (see ../a11y.mjs).
import { tour } from '../a11y.mjs';

export default async function a11y(t) {
  await tour(t, { theme: 'dark', lang: 'de', part: 'account' });
}
