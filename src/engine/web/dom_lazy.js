// The DOM of a context made with dom (V8RS_WEB_DOM; docs/web-apis.md#the-dom): `window`
// now, and a getter for each other DOM global that loads linkedom (src/engine/web/dom.js,
// bundled by tests/fixtures/build/dom.mjs) on the first use of any of them, then
// replaces itself with the value. A global that already exists is left as it is (one
// from a snapshot wins), except the events group's `Event`, `CustomEvent` and
// `EventTarget`: linkedom's take their place, so that events dispatched on nodes
// bubble. `loadDom()` runs the bundle and returns its `domGlobals(global)`;
// `brandClass` is the prelude's (web/mod.rs keeps it), or undefined without it.
(function install(loadDom, brandClass) {
  'use strict';

  // Exactly the keys of domGlobals (the build checks it).
  const NAMES = [
    'Attr', 'CDATASection', 'CharacterData', 'Comment', 'CustomEvent', 'DOMImplementation',
    'DOMParser', 'Document',
    'DocumentFragment', 'DocumentType', 'Element', 'Event', 'EventTarget', 'HTMLAnchorElement',
    'HTMLAreaElement', 'HTMLAudioElement', 'HTMLBRElement', 'HTMLBaseElement',
    'HTMLBodyElement', 'HTMLButtonElement', 'HTMLCanvasElement', 'HTMLDListElement',
    'HTMLDataElement', 'HTMLDataListElement', 'HTMLDetailsElement', 'HTMLDirectoryElement',
    'HTMLDivElement', 'HTMLDocument', 'HTMLElement', 'HTMLEmbedElement', 'HTMLFieldSetElement',
    'HTMLFontElement', 'HTMLFormElement', 'HTMLFrameElement', 'HTMLFrameSetElement',
    'HTMLHRElement', 'HTMLHeadElement', 'HTMLHeadingElement', 'HTMLHtmlElement',
    'HTMLIFrameElement', 'HTMLImageElement', 'HTMLInputElement', 'HTMLLIElement',
    'HTMLLabelElement', 'HTMLLegendElement', 'HTMLLinkElement', 'HTMLMapElement',
    'HTMLMarqueeElement', 'HTMLMediaElement', 'HTMLMenuElement', 'HTMLMetaElement',
    'HTMLMeterElement', 'HTMLModElement', 'HTMLOListElement', 'HTMLObjectElement',
    'HTMLOptGroupElement', 'HTMLOptionElement', 'HTMLOutputElement', 'HTMLParagraphElement',
    'HTMLParamElement', 'HTMLPictureElement', 'HTMLPreElement', 'HTMLProgressElement',
    'HTMLQuoteElement', 'HTMLScriptElement', 'HTMLSelectElement', 'HTMLSlotElement',
    'HTMLSourceElement', 'HTMLSpanElement', 'HTMLStyleElement', 'HTMLTableCaptionElement',
    'HTMLTableCellElement', 'HTMLTableElement', 'HTMLTableRowElement', 'HTMLTemplateElement',
    'HTMLTextAreaElement', 'HTMLTimeElement', 'HTMLTitleElement', 'HTMLTrackElement',
    'HTMLUListElement', 'HTMLUnknownElement', 'HTMLVideoElement', 'Image', 'InputEvent',
    'Location', 'MutationObserver', 'Navigator', 'Node', 'NodeFilter', 'NodeList', 'Range',
    'SVGElement', 'ShadowRoot', 'Text', 'TreeWalker', 'XMLSerializer', 'addEventListener',
    'cancelAnimationFrame', 'customElements', 'dispatchEvent', 'document', 'getComputedStyle',
    'location', 'navigator', 'removeEventListener', 'requestAnimationFrame'
  ];
  const REPLACED = new Set(['Event', 'CustomEvent', 'EventTarget']);

  const global = globalThis;
  const own = (name, value) =>
    Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });

  if (!('window' in global)) own('window', global);
  const lazy = NAMES.filter((name) => !(name in global) || REPLACED.has(name));
  let loaded = null;
  function load() {
    if (loaded === null) {
      loaded = loadDom()(global);
      // The bundle's classes carry minified names: each gets the one it is published
      // under, and is a web API class for structuredClone (prelude.js's brandClass).
      for (const name of NAMES) {
        const value = loaded[name];
        if (typeof value !== 'function' || !value.prototype || name[0] < 'A' || name[0] > 'Z') continue;
        Object.defineProperty(value, 'name', { value: name, configurable: true });
        if (typeof brandClass === 'function') brandClass(value);
      }
      for (const name of lazy) own(name, loaded[name]);
    }
    return loaded;
  }
  for (const name of lazy) {
    Object.defineProperty(global, name, {
      configurable: true,
      enumerable: false,
      get() { return load()[name]; },
      set(value) { load(); own(name, value); },
    });
  }
});
