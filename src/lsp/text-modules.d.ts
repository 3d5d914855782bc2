// Markdown files bundled as text by esbuild (loader 'text'): the builtins table of docs/language.md
// is the one source of the editor's hover and completion documentation.
declare module '*.md' {
  const text: string;
  export default text;
}

// media/pictures.css, the pictures' stylesheet, bundled as text into `xsave-sim timeline`'s files.
declare module '*.css' {
  const text: string;
  export default text;
}
