// A form marked data-submit-once sends once: its submit button is disabled after the first
// click. The server answers a repeated checkout with the same order anyway.
document.querySelectorAll("form[data-submit-once]").forEach((form) => {
  form.addEventListener("submit", () => {
    form.querySelectorAll("button[type=submit]").forEach((button) => {
      button.disabled = true;
    });
  });
});
