/** A table cell (or dt/dd) holding `text`; a th is a row header. */
export function cell(tag: string, text: string): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = text;
  if (tag === "th") element.setAttribute("scope", "row");
  return element;
}
