// The product's version, package.json's, put in at build time (scripts/build.mjs defines it), so a
// bundle never reads package.json at run time.
declare const XSAVE_DEBUG_VERSION: string;

export const VERSION: string = XSAVE_DEBUG_VERSION;
