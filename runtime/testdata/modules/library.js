// library.js: JS-side definitions emcc needs at link time for imports that our C shim declares but
// emscripten 3.1.6's own library does not define. Only used by emcc's generated glue; the Go host
// and the reference loader provide their own implementations of these imports.
mergeInto(LibraryManager.library, {
  _emscripten_date_now: function () { return Date.now(); },
});
