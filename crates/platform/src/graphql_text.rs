//! One rule for every text a client sends through GraphQL: no control characters but tab,
//! line feed and carriage return. A NUL or an escape sequence in a name, a note or a
//! reason is never meant; SQLite would store it and PostgreSQL refuse it later, so it is
//! refused here, at parse time, for every field of every service: in variables and in
//! literals written into the query, at any depth of lists and input objects.
//!
//! Each subgraph's schema adds the [`PlainText`] extension.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, ServerError, ServerResult, Value, Variables};

use crate::error::ErrorCode;

/// The extension factory to add to a schema (`Schema::build(..).extension(PlainText)`).
pub struct PlainText;

impl ExtensionFactory for PlainText {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PlainTextExtension)
    }
}

struct PlainTextExtension;

#[async_trait::async_trait]
impl Extension for PlainTextExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let in_variables = variables.values().any(has_control);
        let in_literals = document
            .operations
            .iter()
            .any(|(_, op)| selections_have_control(&op.node.selection_set.node))
            || document
                .fragments
                .values()
                .any(|f| selections_have_control(&f.node.selection_set.node));
        if in_variables || in_literals {
            let error = async_graphql::Error::new(
                "text may not contain control characters (only tab, line feed and carriage return)",
            )
            .extend_with(|_, e| e.set("code", ErrorCode::BadUserInput.as_str()));
            return Err(error.into_server_error(Default::default()));
        }
        Ok(document)
    }
}

/// Whether `text` holds a control character other than tab, line feed or carriage return.
pub fn is_control_text(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn has_control(value: &Value) -> bool {
    match value {
        Value::String(s) => is_control_text(s),
        Value::List(items) => items.iter().any(has_control),
        Value::Object(fields) => fields
            .iter()
            .any(|(name, v)| is_control_text(name) || has_control(v)),
        _ => false,
    }
}

fn selections_have_control(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            field.node.arguments.iter().any(|(_, value)| {
                // Variables were checked on their own; a literal is checked as written.
                let literal = value
                    .node
                    .clone()
                    .into_const_with(|_| Ok::<_, ServerError>(Value::Null));
                literal.is_ok_and(|v| has_control(&v))
            }) || selections_have_control(&field.node.selection_set.node)
        }
        Selection::InlineFragment(fragment) => {
            selections_have_control(&fragment.node.selection_set.node)
        }
        Selection::FragmentSpread(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Root;

    #[async_graphql::Object]
    impl Root {
        async fn echo(&self, text: String, #[graphql(default)] more: Vec<String>) -> String {
            format!("{text}{}", more.concat())
        }
    }

    fn schema()
    -> async_graphql::Schema<Root, async_graphql::EmptyMutation, async_graphql::EmptySubscription>
    {
        async_graphql::Schema::build(
            Root,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .extension(PlainText)
        .finish()
    }

    async fn code_of(request: async_graphql::Request) -> Option<String> {
        let response = schema().execute(request).await;
        let error = response.errors.first()?;
        match error.extensions.as_ref()?.get("code")? {
            Value::String(code) => Some(code.clone()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn control_characters_are_refused_in_variables_and_literals() {
        let by_variable = |text: &str| {
            async_graphql::Request::new("query($t: String!) { echo(text: $t) }")
                .variables(Variables::from_json(serde_json::json!({ "t": text })))
        };
        for bad in ["a\u{0}b", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}"] {
            assert_eq!(
                code_of(by_variable(bad)).await.as_deref(),
                Some("BAD_USER_INPUT"),
                "{bad:?}"
            );
        }
        let nested =
            async_graphql::Request::new("query($m: [String!]!) { echo(text: \"x\", more: $m) }")
                .variables(Variables::from_json(
                    serde_json::json!({ "m": ["ok", "a\u{0}"] }),
                ));
        assert_eq!(code_of(nested).await.as_deref(), Some("BAD_USER_INPUT"));
        let literal = async_graphql::Request::new(r#"{ echo(text: "a\u0000b") }"#);
        assert_eq!(code_of(literal).await.as_deref(), Some("BAD_USER_INPUT"));
        let in_fragment =
            async_graphql::Request::new(r#"{ ...F } fragment F on Root { echo(text: "\u0007") }"#);
        assert_eq!(
            code_of(in_fragment).await.as_deref(),
            Some("BAD_USER_INPUT")
        );

        // Tabs, new lines and any script pass.
        let fine = schema().execute(by_variable("第一行\n\t第二行\r\n")).await;
        assert!(fine.errors.is_empty(), "{:?}", fine.errors);
    }
}
