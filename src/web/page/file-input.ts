// A file the user gives the page: chosen with a file input, or dropped on a drop zone (or both
// wired to one handler). Used for kernels, saved machines and disk images.

/** Calls `onFile` with the file chosen in `input` (which then resets, so choosing it again counts) or dropped on `dropZone`. */
export function acceptFiles(input: HTMLInputElement, dropZone: HTMLElement | undefined, onFile: (file: File) => void): void {
  input.addEventListener("change", () => {
    const chosen = input.files?.[0];
    input.value = "";
    if (chosen) onFile(chosen);
  });
  if (!dropZone) return;
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("over");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    const dropped = event.dataTransfer?.files[0];
    if (dropped) onFile(dropped);
  });
}
