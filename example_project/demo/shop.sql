-- A small shop, written for the thoth-db-elements demo. SQLite dialect.
-- Awkward on purpose: reserved words, spaces, mixed case, composite keys,
-- a self-reference, a table without a primary key and a view.
PRAGMA foreign_keys = ON;

CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES categories (id),
    name VARCHAR(80) NOT NULL,
    slug VARCHAR(80) NOT NULL UNIQUE
);

CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY,
    name NVARCHAR(120) NOT NULL,
    country CHAR(2) NOT NULL,
    rating REAL
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku VARCHAR(32) NOT NULL UNIQUE,
    name VARCHAR(200) NOT NULL,
    supplier_id INTEGER NOT NULL REFERENCES suppliers (id),
    price DECIMAL(10, 2) NOT NULL,
    weight_kg DOUBLE,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE product_categories (
    product_id INTEGER NOT NULL REFERENCES products (id),
    category_id INTEGER NOT NULL REFERENCES categories (id),
    PRIMARY KEY (product_id, category_id)
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email VARCHAR(254) NOT NULL UNIQUE,
    "First Name" VARCHAR(80),
    "Last Name" VARCHAR(80),
    referred_by INTEGER REFERENCES customers (id),
    signed_up DATE NOT NULL
);

CREATE TABLE addresses (
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    kind VARCHAR(10) NOT NULL CHECK (kind IN ('billing', 'shipping')),
    street TEXT NOT NULL,
    city VARCHAR(80) NOT NULL,
    postcode VARCHAR(16),
    country CHAR(2) NOT NULL,
    PRIMARY KEY (customer_id, kind)
);

CREATE TABLE "order" (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    shipping_customer_id INTEGER NOT NULL,
    shipping_kind VARCHAR(10) NOT NULL,
    placed_at TIMESTAMP NOT NULL,
    status VARCHAR(12) NOT NULL DEFAULT 'new',
    FOREIGN KEY (shipping_customer_id, shipping_kind) REFERENCES addresses (customer_id, kind)
);

CREATE TABLE order_lines (
    order_id INTEGER NOT NULL REFERENCES "order" (id),
    line_no INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL,
    unit_price DECIMAL(10, 2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES "order" (id),
    amount NUMERIC(12, 2) NOT NULL,
    method VARCHAR(20) NOT NULL,
    paid_at DATETIME
);

CREATE TABLE shipments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES "order" (id),
    carrier VARCHAR(40),
    tracking_code VARCHAR(64),
    shipped_on DATE,
    delivered_at TIME
);

CREATE TABLE employees (
    id INTEGER PRIMARY KEY,
    manager_id INTEGER REFERENCES employees (id),
    full_name VARCHAR(120) NOT NULL,
    hired_on DATE NOT NULL,
    salary INTEGER(11)
);

CREATE TABLE "Gift Cards" (
    code CHAR(16) PRIMARY KEY,
    balance DECIMAL(8, 2) NOT NULL,
    issued_by INTEGER REFERENCES employees (id),
    "Expires On" DATE
);

CREATE TABLE reviews (
    product_id INTEGER NOT NULL REFERENCES products (id),
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    stars TINYINT NOT NULL,
    body TEXT
);

CREATE TABLE "select" (
    "group" VARCHAR(20),
    "order" INTEGER,
    note TEXT
);

CREATE TABLE inventory (
    product_id INTEGER PRIMARY KEY REFERENCES products (id),
    on_hand INTEGER NOT NULL DEFAULT 0,
    reorder_level MEDIUMINT,
    updated_at DATETIME
);

CREATE VIEW top_products AS
    SELECT p.id, p.name, AVG(r.stars) AS average_stars
    FROM products p JOIN reviews r ON r.product_id = p.id
    GROUP BY p.id, p.name;
