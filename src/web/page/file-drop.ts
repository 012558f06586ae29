// A file dropped anywhere on the page boots, as one dropped on the kernel's drop zone does: a
// browser's default for a drop is to leave the page and open the file, which would lose the
// running guest. A drop zone's own handler (file-input.ts: a state file's, a disk image's) comes
// first and keeps its drop.
// Text dropped into a text field still lands there; anything else dropped (text, a link) is
// refused with a message instead of followed.

export function bootDroppedFiles(page: Document, boot: (file: File) => void, onMessage: (message: string) => void): void {
  const intoTextField = (event: DragEvent) => event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes("Files") ?? false;
  page.addEventListener("dragover", (event) => {
    if (carriesFiles(event) || !intoTextField(event)) event.preventDefault();
  });
  page.addEventListener("drop", (event) => {
    if (event.defaultPrevented) return;
    const file = event.dataTransfer?.files[0];
    if (!file && intoTextField(event)) return;
    event.preventDefault();
    if (file) boot(file);
    else onMessage("only a file can be dropped here: drop a Multiboot kernel to boot it");
  });
}
