"""The shop catalog: products and variants by sku, inventory per location, catalog events."""
