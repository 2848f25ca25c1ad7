/**
 * Message text as a safe subset of Markdown (issue 16): emphasis, strong,
 * strike-through, inline code, code blocks, quotes, lists, and links, bare URLs
 * included (GFM's autolinks). Rendered by react-markdown into React elements: raw
 * HTML in a message is shown as the text it is (never parsed, never
 * `dangerouslySetInnerHTML`), URLs other than http(s), mailto and relative ones
 * are dropped by its default URL filter, and every other element (headings,
 * images, tables...) is replaced by its text. Links open in a new tab with
 * rel="noopener noreferrer"; each block gets dir="auto" so right-to-left text
 * reads right to left.
 */
import { memo } from "react";
import Markdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";

const ALLOWED = ["p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"];

const components: Components = {
  // A URL the default filter refused (javascript:, data:...) arrives empty: text, not a link.
  a: ({ href, children }) => (href ? <a href={href} target="_blank" rel="noopener noreferrer">{children}</a> : <>{children}</>),
  p: ({ children }) => <p dir="auto">{children}</p>,
  li: ({ children }) => <li dir="auto">{children}</li>,
  blockquote: ({ children }) => <blockquote dir="auto">{children}</blockquote>,
  pre: ({ children }) => <pre dir="auto" tabIndex={0}>{children}</pre>,
};

/** A message body (at most LIMITS.messageMaxChars characters) rendered as the
 * safe Markdown subset above. */
export const MessageText = memo(function MessageText({ text }: { text: string }) {
  return (
    <Markdown remarkPlugins={[remarkGfm]} allowedElements={ALLOWED} unwrapDisallowed components={components}>
      {text}
    </Markdown>
  );
});
