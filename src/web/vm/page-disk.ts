// The page's disk image: the bytes behind the ATA disk and the paravirtual block device of every
// machine the page makes, an empty 4 MiB image until the user uploads another. It lives in the
// worker, so the guest's writes go straight into it; a download is a copy taken between two bursts
// of guest code, so it holds every write the guest has completed. Like the CLI's --disk file, a
// trailing partial sector is kept but the devices do not see it.

import { MemoryDisk } from "../../devices/block-backend.js";
import type { SavedImage } from "../../vmm/saved-state.js";
import type { Post } from "./session.js";

const DEFAULT_DISK_BYTES = 4 * 1024 * 1024;

export class PageDisk {
  image = new MemoryDisk(new Uint8Array(DEFAULT_DISK_BYTES));
  private name = "disk.img";

  /** Puts `bytes` in place of the image; returns what puts the old one back. */
  replace(bytes: Uint8Array, name: string): () => void {
    const [image, previousName] = [this.image, this.name];
    this.image = new MemoryDisk(bytes);
    this.name = name;
    return () => {
      this.image = image;
      this.name = previousName;
    };
  }

  /**
   * The image for a machine restored from `saved`, if the saved machine had a disk (the restore
   * then checks that the image is the saved disk's size).
   */
  forState(saved: SavedImage): MemoryDisk | undefined {
    return saved.state.machine.disk === null ? undefined : this.image;
  }

  /** Tells the page which image the machines get. */
  report(post: Post): void {
    post({ type: "disk", name: this.name, bytes: this.image.bytes.length, sectors: this.image.sectors });
  }

  /** A copy of the image as it is now, for the page to save. */
  download(post: Post): void {
    const { buffer } = this.image.bytes.slice();
    post({ type: "disk-image", bytes: buffer, name: this.name }, [buffer]);
  }
}
