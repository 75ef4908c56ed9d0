// Starts GraphiQL against the GraphQL endpoint this page came from: queries and mutations
// over HTTP, subscriptions over graphql-transport-ws on the same path. Headers typed into
// the headers editor (Authorization: Bearer …) go with both.
(function () {
  var url = new URL(window.location.pathname, window.location.href).href;
  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: url.replace(/^http/, 'ws'),
  });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }),
  );
})();
