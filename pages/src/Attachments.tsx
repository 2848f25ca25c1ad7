/**
 * Attachments in the web client (issue 17): files added to the composer (picked,
 * dropped on the conversation, or pasted), each uploaded at once with its progress
 * shown, and the files a message carries (images inline, other files as a
 * download link).
 *
 * Files are members only: the server wants the session in the Authorization
 * header, so neither <img src> nor a plain link can fetch them. Channel.fileUrl
 * fetches one into an object URL, which is revoked when its element goes.
 * The limits (how many files a message carries, how big one may be) are the
 * server's, from LIMITS; checking them here only saves an upload the server would
 * refuse with the same sentence.
 */
import { useEffect, useId, useRef, useState, type DragEvent } from "react";
import type { Channel } from "./channel";
import { errorMessage, LIMITS, type Attachment } from "./protocol";

/** A size as people read it: "512 bytes", "34.5 kB", "1.2 MB" (powers of 1000). */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} byte${bytes === 1 ? "" : "s"}`;
  const [value, unit] = bytes < 1e6 ? [bytes / 1e3, "kB"] : bytes < 1e9 ? [bytes / 1e6, "MB"] : [bytes / 1e9, "GB"];
  return `${value < 100 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${unit}`;
}

/** Icons drawn inline (no emoji font needed), hidden from assistive technology. */
const svg = { viewBox: "0 0 24 24", width: 18, height: 18, fill: "none", stroke: "currentColor", strokeWidth: 2,
  strokeLinecap: "round" as const, strokeLinejoin: "round" as const, "aria-hidden": true, focusable: false, className: "icon" };
export const PaperclipIcon = () => (
  <svg {...svg}><path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48" /></svg>);
const FileIcon = () => (
  <svg {...svg}><path d="M13 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z" /><path d="M13 2v7h7" /></svg>);

const isImage = (a: Attachment) => a.type.startsWith("image/") && !!a.width && !!a.height;

/** One file on its way into a message. */
export interface Upload {
  key: number;
  name: string;
  size: number;
  /** 0..1 */
  progress: number;
  attachment: Attachment | null;
  error: string | null;
  /** Stops the upload when the file is removed before it is done. */
  stop: AbortController;
}

export interface Uploads {
  list: Upload[];
  /** Why files were not added (too many, too big), until the next change. */
  refusal: string | null;
  add(files: File[]): void;
  remove(key: number): void;
  /** The uploaded files, to send; null while some are still uploading. */
  ready(): Attachment[] | null;
  clear(): void;
}

let nextKey = 1;

/** The files of the message being written in one conversation. */
export function useUploads(channel: Channel): Uploads {
  const [list, setList] = useState<Upload[]>([]);
  const [refusal, setRefusal] = useState<string | null>(null);
  const current = useRef<Upload[]>([]);
  current.current = list;
  const mounted = useRef(true);
  useEffect(() => () => { mounted.current = false; }, []);

  const update = (key: number, change: Partial<Upload>) => {
    if (mounted.current) setList((l) => l.map((u) => (u.key === key ? { ...u, ...change } : u)));
  };

  function add(files: File[]) {
    const problems: string[] = [];
    let room = LIMITS.attachmentsMax - current.current.filter((u) => !u.error).length;
    let over = 0;
    const added: Upload[] = [];
    for (const file of files) {
      const name = file.name || "pasted file";
      if (file.size > LIMITS.attachmentBytesMax) {
        problems.push(`${name} is ${humanSize(file.size)}. ${errorMessage("attachment_too_large")}`);
        continue;
      }
      if (room <= 0) { over++; continue; }
      room--;
      const u: Upload = { key: nextKey++, name, size: file.size, progress: 0, attachment: null, error: null,
        stop: new AbortController() };
      added.push(u);
      channel.upload(file, (progress) => update(u.key, { progress }), u.stop.signal)
        .then((attachment) => update(u.key, { attachment, progress: 1 }))
        .catch((e: unknown) => update(u.key, { error: e instanceof Error ? e.message : String(e) }));
    }
    if (over > 0) {
      problems.push(`A message carries at most ${LIMITS.attachmentsMax} files: ${over === 1 ? "one was" : `${over} were`} not added.`);
    }
    setRefusal(problems.length ? problems.join(" ") : null);
    if (added.length) setList((l) => [...l, ...added]);
  }

  return {
    list, refusal, add,
    // A removed file still uploading stops (the server stores nothing of it).
    remove: (key) => {
      setRefusal(null);
      setList((l) => l.filter((u) => {
        if (u.key === key && !u.attachment) u.stop.abort();
        return u.key !== key;
      }));
    },
    ready: () => (list.some((u) => !u.attachment && !u.error) ? null
      : list.flatMap((u) => (u.attachment ? [u.attachment] : []))),
    clear: () => { setRefusal(null); setList([]); },
  };
}

/** The files dragged over the conversation, dropped into `onFiles`; `over` is
 * true while files are held above it (to show where to drop them). */
export function useFileDrop(onFiles: (files: File[]) => void) {
  const [over, setOver] = useState(false);
  const depth = useRef(0); // dragenter/dragleave fire for every child crossed
  const hasFiles = (e: DragEvent) => e.dataTransfer.types.includes("Files");
  return {
    over,
    handlers: {
      onDragEnter: (e: DragEvent) => { if (!hasFiles(e)) return; e.preventDefault(); depth.current++; setOver(true); },
      onDragOver: (e: DragEvent) => { if (!hasFiles(e)) return; e.preventDefault(); e.dataTransfer.dropEffect = "copy"; },
      onDragLeave: (e: DragEvent) => { if (!hasFiles(e)) return; if (--depth.current <= 0) { depth.current = 0; setOver(false); } },
      onDrop: (e: DragEvent) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth.current = 0;
        setOver(false);
        onFiles([...e.dataTransfer.files]);
      },
    },
  };
}

/** The composer's "Attach" button: a real button that opens the file picker. */
export function AttachButton({ onFiles, disabled }: { onFiles(files: File[]): void; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="attach" onClick={() => input.current?.click()} disabled={disabled}
              aria-label="Attach files" title="Attach files (or drop or paste them)">
        <PaperclipIcon />
      </button>
      <input ref={input} type="file" multiple hidden tabIndex={-1} data-testid="file-input"
             onChange={(e) => { onFiles([...(e.target.files ?? [])]); e.target.value = ""; }} />
    </>
  );
}

/** The files of the message being written: each with its progress bar while it
 * uploads, its reason when it failed, and a button that takes it out. */
export function UploadList({ uploads }: { uploads: Uploads }) {
  const id = useId();
  if (uploads.list.length === 0 && !uploads.refusal) return null;
  return (
    <div className="uploads">
      {uploads.list.length > 0 && (
        <ul aria-label="Files to send" data-testid="uploads">
          {uploads.list.map((u) => (
            <li key={u.key} className={`upload${u.error ? " failed" : ""}`} data-testid="upload">
              <label className="upload-name" htmlFor={`${id}-${u.key}`} dir="auto">
                {!u.attachment && !u.error && <span className="sr-only">Uploading </span>}{u.name}
              </label>
              <span className="upload-size">{humanSize(u.size)}</span>
              {u.error ? <span className="error" role="alert">Not uploaded: {u.error}</span>
                : u.attachment ? <span className="ok" data-testid="uploaded">Ready</span>
                  : <progress id={`${id}-${u.key}`} max={1} value={u.progress} data-testid="progress" />}
              <button type="button" className="remove" onClick={() => uploads.remove(u.key)}
                      aria-label={`Remove ${u.name}`} title="Remove">×</button>
            </li>
          ))}
        </ul>
      )}
      {uploads.refusal && <p className="error" role="alert" data-testid="upload-refusal">{uploads.refusal}</p>}
    </div>
  );
}

/** The files a message carries. */
export function MessageFiles({ files, channel }: { files: Attachment[]; channel: Channel }) {
  return (
    <ul className="files" aria-label="Files">
      {files.map((a) => <li key={a.id}>{isImage(a) ? <InlineImage a={a} channel={channel} /> : <FileLink a={a} channel={channel} />}</li>)}
    </ul>
  );
}

/** The largest an image is shown inline (CSS px); it also shrinks to its column. */
const IMAGE_MAX_W = 360;
const IMAGE_MAX_H = 320;

/** An image, scaled to fit, its box sized from the attachment's width and height
 * before a byte arrives (so nothing below it moves), its alt text the file name;
 * it opens at full size in a new tab. */
function InlineImage({ a, channel }: { a: Attachment; channel: Channel }) {
  const [url, setUrl] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let made: string | null = null;
    let live = true;
    channel.fileUrl(a).then((u) => { if (live) setUrl(made = u); else URL.revokeObjectURL(u); })
      .catch((e: unknown) => { if (live) setProblem(e instanceof Error ? e.message : String(e)); });
    return () => { live = false; if (made) URL.revokeObjectURL(made); };
  }, [a, channel]);
  if (problem) return <FileGone a={a} text={problem} />;
  const w = a.width!, h = a.height!;
  const scale = Math.min(1, IMAGE_MAX_W / w, IMAGE_MAX_H / h);
  // Set through the CSSOM (React's style), which the site's CSP allows.
  const box = { width: `${Math.max(1, Math.round(w * scale))}px`, aspectRatio: `${w} / ${h}` };
  if (!url) return <span className="file-image loading" style={box} role="img" aria-label={`${a.name} (loading)`} data-testid="image-loading" />;
  return (
    <a className="file-image-link" href={url} target="_blank" rel="noopener noreferrer" title={`${a.name}, ${humanSize(a.size)}: open at full size`}>
      <img className="file-image" src={url} alt={a.name} width={w} height={h} style={box} data-testid="attachment-image" />
    </a>
  );
}

/** A file that is not an image: its name and size, downloaded with the session. */
function FileLink({ a, channel }: { a: Attachment; channel: Channel }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (problem) return <FileGone a={a} text={problem} />;
  async function download(e: React.MouseEvent) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      const url = await channel.fileUrl(a);
      const link = document.createElement("a");
      link.href = url;
      link.download = a.name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download has its own copy by then
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <a className="file-link" href={a.url} download={a.name} onClick={download} data-testid="attachment-file" aria-busy={busy || undefined}>
      <FileIcon /> <bdi>{a.name}</bdi>, {humanSize(a.size)}
    </a>
  );
}

function FileGone({ a, text }: { a: Attachment; text: string }) {
  return <p className="file-gone" data-testid="attachment-gone"><span dir="auto">{a.name}</span>: {text}</p>;
}
