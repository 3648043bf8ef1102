// Mounts GraphiQL on #graphiql, talking to the endpoint named in data-endpoint: queries and mutations
// over HTTP, subscriptions (live queries) over a WebSocket to the same path (graphql-transport-ws,
// through the vendored graphql-ws client; the session cookie goes with the upgrade).
(function () {
  const root = document.getElementById("graphiql");
  const endpoint = root.dataset.endpoint;
  const socketUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + endpoint;
  const wsClient = window.graphqlWs ? graphqlWs.createClient({ url: socketUrl, lazy: true }) : undefined;
  const fetcher = GraphiQL.createFetcher({ url: endpoint, headers: { Accept: "application/json" }, wsClient: wsClient });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.dataset.defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
