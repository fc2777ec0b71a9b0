// A tiny "bundle" in the shape of the usage page's foo_bundled.js.
var foo = {
  render: function (text) {
    return text;
  },
  shout: function (text) {
    return text.toUpperCase() + '!';
  },
};
