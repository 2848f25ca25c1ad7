// Files imported as text (Vite's ?raw), for tests that check a document or a list
// against the generated protocol.
declare module "*?raw" {
  const text: string;
  export default text;
}
