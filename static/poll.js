// A polling element with data-poll-pause="<selector>" skips its poll while something inside
// matches (an open <details> being read, a form error being fixed). A trigger filter
// (hx-trigger="every 3s [...]") would say the same, but htmx evaluates filters as code,
// which the Content-Security-Policy (script-src 'self', no 'unsafe-eval') forbids.
document.addEventListener("htmx:before:request", (event) => {
  const pause = event.target.dataset && event.target.dataset.pollPause;
  if (pause && event.target.querySelector(pause)) {
    event.preventDefault();
  }
});
